"""The docs describe the code as it is: the README's layout names every module of the package and
only paths that exist, and every relative link of the README and docs/ resolves."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout() -> list[str]:
    """The paths of the README's Layout block, in order."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^## Layout\n.*?^```\n(.*?)^```", text, flags=re.S | re.M)
    assert block, "the README has no Layout block"
    return [line.split()[0] for line in block.group(1).splitlines() if line.strip()]


def test_the_layout_names_only_paths_that_exist():
    missing = [path for path in layout() if not (ROOT / path).exists()]
    assert not missing, f"the README's Layout names paths that do not exist: {missing}"


def test_the_layout_names_every_module_and_top_level_folder():
    paths = layout()

    def named(path: Path) -> bool:
        relative = path.relative_to(ROOT).as_posix()
        return any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in paths)

    package = ROOT / "src" / "distancing"
    modules = [p for p in package.rglob("*.py") if p.name != "__init__.py" or p.parent != package]
    unnamed = [p.relative_to(ROOT).as_posix() for p in modules if not named(p)]
    assert not unnamed, f"modules the README's Layout does not name: {unnamed}"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    folders = sorted({path.split("/")[0] for path in tracked.splitlines() if "/" in path} - {"src"})
    unnamed = [folder for folder in folders if not any(path.startswith(f"{folder}/") for path in paths)]
    assert not unnamed, f"top-level folders the README's Layout does not name: {unnamed}"


def test_every_relative_link_of_the_docs_resolves():
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, f"links to nothing: {broken}"
