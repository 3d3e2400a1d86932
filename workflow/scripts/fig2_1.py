"""Figure 2.1: a function (red) with a local minimum at x = 2/3, a Gaussian hill there
(blue), and their sum (black), which has no minimum near 2/3 any more."""

import matplotlib.pyplot as plt
import numpy as np

from distancing.plotting import save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])

# f'(x) = x (x − 2/3) (x + 1): minima at −1 (global) and 2/3 (local), a maximum at 0.
f = lambda x: x**4 / 4 + x**3 / 9 - x**2 / 3  # noqa: E731
hill = lambda x: 0.1 * np.exp(-((x - 2 / 3) ** 2) / (2 * 0.3**2))  # noqa: E731

x = np.linspace(-1.6, 1.5, 1000)
total = f(x) + hill(x)
minima = x[1:-1][(total[1:-1] < total[:-2]) & (total[1:-1] < total[2:])]
assert len(minima) == 1 and abs(minima[0] + 1) < 0.01, f"the hill must leave only the minimum at -1: {minima}"

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(x, f(x), color="tab:red", label="function with a local minimum at x = 2/3")
ax.plot(x, hill(x), color="tab:blue", label="Gaussian hill centred at x = 2/3")
ax.plot(x, total, color="black", label="sum: the local minimum is gone")
ax.axvline(2 / 3, color="0.35", linestyle=":", linewidth=1.2)
ax.set_xlabel("x")
ax.set_ylabel("value")
ax.legend(loc="upper center")
save(fig, snakemake.output.png, snakemake.output.pdf)
