"""The project's import graph: no cycles, apps layered (ledger <- ratecards <- alerts), no dodged imports.

The core of each app (everything but its admin, API, finance pages, template tags, commands and the
activity timeline) may import only the apps below it: the ledger's core imports no other app (alerts
subscribe to its events, rate cards register their price lookup), API tokens and rate cards build on the
ledger, alerts on both. The staff console, the API and the timeline sit on top and may import any app;
so may each app's AppConfig, which wires its parts to the others' registries. Every app may use the
project's fail-soft infrastructure (creditsite.resilience). An import inside a function says why on
its line (a comment), and no code catches ImportError for an app that is always installed.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("alerts", "apiauth", "approvals", "creditsite", "demo", "ledger", "ops", "payments", "ratecards")
PRESENTATION = ("ledger.admin", "ledger.api", "ledger.finance", "ledger.templatetags", "ledger.management",
                "ledger.forms", "ledger.activity", "ledger.selfservice.views", "ledger.selfservice.urls",
                "ledger.selfservice.forms", "ratecards.admin", "ratecards.api", "ratecards.activity",
                "alerts.admin", "alerts.management", "alerts.templatetags", "alerts.activity", "apiauth.admin",
                "apiauth.management", "creditsite", "payments.admin", "payments.api", "payments.views",
                "payments.urls", "payments.finance_views", "payments.finance_urls", "payments.templatetags",
                "payments.activity", "approvals.admin", "approvals.activity", "approvals.templatetags", "payments.signals", "payments.forms", "ops.admin", "ops.management", "ops.views", "ops.collectors", "ops.signals", "ops.sentry",
                "demo")
# below every app: the fail-soft infrastructure, the metric recorders and the log helpers (they import no app)
SHARED = ("creditsite.resilience", "ops.metrics", "ops.logs")
# app -> the apps its core may import
LAYERS = {"ledger": {"ledger"}, "apiauth": {"ledger", "apiauth"}, "ratecards": {"ledger", "ratecards"},
          "alerts": {"ledger", "ratecards", "alerts"}, "ops": {"ledger", "ops"},
          "payments": {"ledger", "ratecards", "alerts", "payments"}, "approvals": {"ledger", "approvals"}}


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _target(module: str, node: ast.ImportFrom | ast.Import, alias: ast.alias) -> str:
    if isinstance(node, ast.Import):
        return alias.name
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    for _ in range(node.level - 1):
        package = package.rsplit(".", 1)[0]
    base = f"{package}.{node.module}" if node.level and node.module else (package if node.level else node.module)
    candidate = f"{base}.{alias.name}"
    return candidate if candidate in MODULES else base


def _imports(module: str, *, top_level: bool) -> list[tuple[ast.AST, str]]:
    tree = ast.parse(MODULES[module].read_text())
    nodes = tree.body if top_level else [node for node in ast.walk(tree)
                                         if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    found = []
    for node in nodes:
        candidates = [node] if top_level else list(ast.walk(node))
        for item in candidates:
            if isinstance(item, ast.Import | ast.ImportFrom):
                for alias in item.names:
                    found.append((item, _target(module, item, alias)))
    return found


def _graph() -> dict[str, set[str]]:
    return {module: {target for _, target in _imports(module, top_level=True) if target in MODULES}
            for module in MODULES}


def test_no_module_imports_itself_through_others():
    graph, state, cycles = _graph(), {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == [], cycles


def _is_core(module: str) -> bool:
    return not any(module == top or module.startswith(f"{top}.") for top in PRESENTATION) and not module.endswith(
        ".apps")


def test_the_core_of_each_app_imports_only_the_apps_below_it():
    wrong = []
    for module in MODULES:
        app = module.split(".")[0]
        if not _is_core(module) or app not in LAYERS:
            continue
        for _, target in _imports(module, top_level=True) + _imports(module, top_level=False):
            target_app = target.split(".")[0]
            if target in SHARED:
                continue
            if target_app in APPS and (target_app not in LAYERS[app] or not _is_core(target)):
                wrong.append(f"{module} imports {target}")
    assert wrong == [], "\n".join(wrong)


def test_imports_inside_functions_say_why_and_nothing_catches_import_error():
    unexplained, guarded = [], []
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node, target in _imports(module, top_level=False):
            if "#" not in lines[node.lineno - 1]:
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and "ImportError" in ast.unparse(node.type or ast.Name("")):
                guarded.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == [], "\n".join(unexplained)
    assert guarded == []
