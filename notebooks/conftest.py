"""When ``make test`` runs the notebooks (nbmake): notebook 10 exports to PyTorch, so it needs the
``[torch]`` extra; where that is not installed it is not collected (docs/export.md, "Install")."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("torch") else ["12_export.ipynb"]
