"""Figure 2.1: a function (red) with a local minimum at x = 2/3, a Gaussian hill on it (blue),
and their sum (black), which rises on all of x > 0: gradient descent from the right no longer
stops near 2/3 but carries on to the global minimum at x = −1.

A hill centred exactly on a minimum leaves a stationary point there (both derivatives vanish),
so the sum keeps a flat spot or, for a sharper hill, a maximum with a new minimum beside it.
The hill is centred at x = 0.75, where a checkpoint is stored by descent from the right that
has not quite reached the minimum; its height and width make the sum's slope at least 0.1 on
(0.05, 1.5], checked below.
"""

import matplotlib.pyplot as plt
import numpy as np

from distancing.plotting import legend_outside, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])

# f'(x) = x (x − 2/3) (x + 1): minima at −1 (global) and 2/3 (local), a maximum at 0.
CENTRE, HEIGHT, WIDTH = 0.75, 0.2, 0.35
f = lambda x: x**4 / 4 + x**3 / 9 - x**2 / 3  # noqa: E731
hill = lambda x: HEIGHT * np.exp(-((x - CENTRE) ** 2) / (2 * WIDTH**2))  # noqa: E731

x = np.linspace(-1.6, 1.5, 3101)
total = f(x) + hill(x)
minima = x[1:-1][(total[1:-1] < total[:-2]) & (total[1:-1] < total[2:])]
assert len(minima) == 1 and abs(minima[0] + 1) < 0.01, f"the hill must leave only the minimum at -1: {minima}"
right = x > 0.05
assert (np.diff(total[right]) / np.diff(x[right]) > 0.1).all(), "the sum must rise clearly on x > 0.05"

fig, ax = plt.subplots(figsize=(8.5, 3.8))
ax.plot(x, f(x), color="tab:red", label="function, local minimum at x = 2/3")
ax.plot(x, hill(x), color="tab:blue", label=f"Gaussian hill at the checkpoint x = {CENTRE}")
ax.plot(x, total, color="black", label="sum: no minimum near 2/3")
ax.axvline(2 / 3, color="0.35", linestyle=":", linewidth=1.2, label="x = 2/3")
ax.plot([CENTRE], [f(CENTRE)], "o", color="tab:blue", markersize=5)
ax.set_xlabel("x")
ax.set_ylabel("value")
legend_outside(ax)
save(fig, snakemake.output.png, snakemake.output.pdf)
