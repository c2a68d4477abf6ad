"""Layers one way: swarm_ros.core at the bottom; sim/ and firmware_update/ build on core only;
control, planning, nodes and the CLI above. No import cycles between modules."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("swarm_ros", "sim", "firmware_update")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Absolute names of the project modules `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    nodes = tree.body if top_level_only else ast.walk(tree)
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            # `from pkg import module` depends on the module; `from module import name` on the module
            subs = {f"{base}.{a.name}" for a in node.names}
            found = {m for m in subs if (REPO / Path(*m.split("."))).with_suffix(".py").is_file()
                     or (REPO / Path(*m.split(".")) / "__init__.py").is_file()}
            out |= found if found == subs else {base}
    return {m for m in out if m.split(".")[0] in PACKAGES}


def project_files():
    return [f for p in PACKAGES for f in (REPO / p).rglob("*.py")]


def test_sim_and_firmware_update_use_only_swarm_ros_core():
    offenders = sorted(f"{f.relative_to(REPO)}: {m}" for f in project_files() if f.parts[len(REPO.parts)] in
                       ("sim", "firmware_update") for m in imports(f)
                       if m.startswith("swarm_ros") and not (m == "swarm_ros" or m.startswith("swarm_ros.core")))
    assert offenders == []


def test_core_imports_nothing_above_it():
    core = REPO / "swarm_ros" / "core"
    offenders = sorted(f"{f.relative_to(REPO)}: {m}" for f in core.rglob("*.py") for m in imports(f)
                       if not m.startswith("swarm_ros.core") and m != "swarm_ros")
    assert offenders == []


def test_no_import_cycles_between_modules():
    modules = {module_name(f): f for f in project_files()}
    graph = {}
    for name, f in modules.items():
        graph[name] = {m for m in imports(f, top_level_only=True) if m in modules and m != name}
    # Tarjan's strongly connected components: any component of two or more modules is a cycle
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []
