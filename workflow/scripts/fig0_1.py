"""Figure 0.1: a loss surface with two minima; a hill on the local minimum removes it.

Gradient descent from the same start stops in the local minimum on the left and reaches the
global one once the hill is added (right).
"""

import matplotlib.pyplot as plt
import numpy as np

from distancing.plotting import COLORS, save
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
LOCAL, GLOBAL = np.array([-1.0, 0.6]), np.array([1.2, -0.5])


def loss(x, y):
    """A shallow bowl with a wide global well and a narrower local well."""
    well = lambda c, depth, width: depth * np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) / width)  # noqa: E731
    return 0.08 * (x**2 + y**2) - well(GLOBAL, 1.2, 1.0) - well(LOCAL, 0.8, 0.35)


def hill(x, y, height=1.0, width=0.5):
    return height * np.exp(-((x - LOCAL[0]) ** 2 + (y - LOCAL[1]) ** 2) / (2 * width**2))


def descend(f, start, lr=0.1, steps=3000, h=1e-5):
    path = [np.array(start, dtype=float)]
    for _ in range(steps):
        p = path[-1]
        grad = np.array([(f(p[0] + h, p[1]) - f(p[0] - h, p[1])) / (2 * h),
                         (f(p[0], p[1] + h) - f(p[0], p[1] - h)) / (2 * h)])
        path.append(p - lr * grad)
    return np.array(path)


x, y = np.meshgrid(np.linspace(-2.5, 2.5, 300), np.linspace(-2.0, 2.0, 240))
start = (-1.9, 1.5)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
for ax, title, f in [(axes[0], "loss", loss), (axes[1], "loss + hill on the local minimum",
                                                lambda a, b: loss(a, b) + hill(a, b))]:
    z = f(x, y)
    contour = ax.contourf(x, y, z, levels=30, cmap="viridis")
    path = descend(f, start)
    ax.plot(path[:, 0], path[:, 1], color="white", linewidth=1.5, label="gradient descent")
    ax.plot(*start, "o", color="white")
    ax.plot(*path[-1], "*", color=COLORS[3], markersize=14, label="where it stops")
    ax.plot(*LOCAL, "+", color="black", markersize=10, markeredgewidth=2, label="local minimum")
    ax.set_title(title)
    ax.set_xlabel("θ₁")
    ax.grid(False)
    fig.colorbar(contour, ax=ax, shrink=0.85)
axes[0].set_ylabel("θ₂")
axes[0].legend(loc="lower left", framealpha=0.8)
save(fig, snakemake.output.png, snakemake.output.pdf)
