"""Shared loader for munet's HDF5 checkpoints (io/SCHEMA.md, format `munet-checkpoint` v1).

Every analysis tool reads its checkpoint through load(), so the schema is interpreted in one
place: the tables (/config, /tasks, /progress, /models, /pool/index, /run_info) become plain
Python objects, parameter values are never read, and a file that is not what the schema
promises is refused with an error naming the file and the object. From format version 4 on,
the tables and attributes are checked against the file's /digest (file_digest.py) first. It also holds what several
tools derive from the /models table: turns, each task's best model after each turn, and the
size of every component that was ever on a route (to rebuild the pool as tasks were added).
"""
import argparse
import glob
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import h5py
import numpy as np

import file_digest

FORMAT = "munet-checkpoint"
# Version 2 added the reference configurations' fields, 3 the stages, CHECKSUMMED_VERSION the
# checksums (io/SCHEMA.md).
FORMAT_VERSIONS = (1, 2, 3, 4)
CHECKSUMMED_VERSION = 4
ROOT_TASK = -1

# The /config attributes of the evolution's configuration (src/evo/config_fields.h; a test checks
# that every field there is here), with the value a version-1 checkpoint, which lacks those
# marked, takes: the behaviour of its run. None: stored in every version.
CONFIG_FIELDS = {
    "task_iterations": None, "children_per_task": None, "parallel_slots": None, "validations": None,
    "steps_per_validation": None, "epoch_cap": 0, "batch_size": None, "max_val_examples": None,
    "eval_batch_size": None, "max_image_size": None, "base": None, "flops_factor": None, "seed": None,
    "mu": 0.2, "mutate": "all", "momentum_values": "0.5,0.6,0.7,0.8,0.85,0.9,0.95,0.98,0.99",
    "warmup_ratio": 0.05, "adapters": 1, "adapter_dim": 32, "baseline": None, "baseline_freeze": 2,
    "baseline_adapter_dim": 32,
}
PAPER_BASELINES = ("finetune", "freeze", "adapters")


class CheckpointError(Exception):
    """A checkpoint (or run folder) that cannot be used; the message names the file and object."""


@dataclass
class Task:
    index: int
    name: str
    num_classes: int
    best_model: int  # -1 before the task's first turn ends
    children: int
    accepted: int
    validation_accuracy: float  # -1: no best model yet
    test_accuracy: float
    activated_params: int
    owned_params: int
    activated_share: float
    params_created: int = 0  # pool parameters in components this task owns (from /pool/index)
    source: str = ""  # where its data came from; "" in checkpoints written before task files
    content_hash: str = ""  # XXH3-128 of its data (io/SCHEMA.md, "Task files")
    task_file: str = ""  # the task file it was loaded from; "" for a built-in task
    stage: int = 0  # 0: the run's first --tasks; later stages joined with --add-tasks or the inbox
    joined_at: int = 0  # generations done when its stage joined
    task_copy: str = ""  # its copy in the run folder (relative to it); "" for a built-in task


@dataclass
class RouteEntry:
    component: int
    name: str
    trainable: bool


@dataclass
class Model:
    id: int
    task: int
    parent: int
    iteration: int
    generation: int
    slot: int
    accepted: bool
    quality: float
    score: float
    test_accuracy: float
    params: int
    new_params: int
    accounted_params: float
    flops: float
    train_seconds: float
    train_images: int
    hparams: Dict[str, float]
    route: List[RouteEntry]
    validation_accuracy: List[float]
    mutations: List[str]


@dataclass
class Component:
    id: int
    name: str
    kind: str
    owner: int
    size: int
    has_velocity: bool
    locks: List[int]


@dataclass
class Checkpoint:
    path: str
    config: Dict[str, object]
    tasks: List[Task]
    models: List[Model]
    pool: List[Component]
    pool_components: int
    pool_parameters: int
    progress: Dict[str, object]
    run_info: Dict[str, object]
    model_by_id: Dict[int, Model] = field(default_factory=dict)
    component_by_id: Dict[int, Component] = field(default_factory=dict)

    # ---- facts about the run --------------------------------------------------------------
    def task_name(self, index: int) -> str:
        return "root" if index == ROOT_TASK else self.tasks[index].name

    def task_index(self, name: str) -> int:
        for t in self.tasks:
            if t.name == name:
                return t.index
        raise CheckpointError("%s: the run has no task '%s' (its tasks: %s)"
                              % (self.path, name, ", ".join(t.name for t in self.tasks)))

    @property
    def root_model(self) -> int:
        return int(self.progress["root_model"])

    @property
    def root_parameters(self) -> int:
        return sum(c.size for c in self.pool if c.owner == ROOT_TASK)

    @property
    def paper_baseline(self) -> bool:
        """finetune, freeze[:K] or adapters[:D]: one generation of one child per slot per task."""
        return str(self.config.get("baseline", "none")).split(":")[0] in PAPER_BASELINES

    @property
    def generations_per_turn(self) -> int:
        if self.paper_baseline:
            return 1
        return max(1, math.ceil(int(self.config["children_per_task"]) / int(self.config["parallel_slots"])))

    @property
    def generations_done(self) -> int:
        return int(self.progress["generations_done"])

    @property
    def total_generations(self) -> int:
        return int(self.progress["total_generations"])

    @property
    def turns_done(self) -> int:
        return self.generations_done // self.generations_per_turn

    @property
    def turn_iterations(self) -> int:
        return 1 if self.paper_baseline else int(self.config["task_iterations"])

    @property
    def stages(self) -> int:
        return 1 + max((t.stage for t in self.tasks), default=0)

    def stage_tasks(self, stage: int) -> List[int]:
        """The task indices of a stage, in joining order."""
        return [t.index for t in self.tasks if t.stage == stage]

    def stage_first_turn(self, stage: int) -> int:
        return sum(len(self.stage_tasks(s)) for s in range(stage)) * self.turn_iterations

    def turn_index(self, iteration: int, task: int) -> int:
        """Turns are numbered 0, 1, ... in run order: stage by stage; in a stage, iteration-major over
        its tasks in joining order (one stage: iteration * tasks + task)."""
        stage = self.tasks[task].stage
        members = self.stage_tasks(stage)
        return self.stage_first_turn(stage) + iteration * len(members) + members.index(task)

    def turn_of(self, turn: int):
        """(iteration, task index) of a turn number."""
        for stage in range(self.stages):
            members = self.stage_tasks(stage)
            n = len(members) * self.turn_iterations
            if turn < n:
                iteration, k = divmod(turn, len(members))
                return iteration, members[k]
            turn -= n
        raise CheckpointError("%s: turn %d is past the run's last stage" % (self.path, turn))

    def task_turns(self, task: int) -> List[int]:
        """The turn numbers of a task, in order."""
        return [self.turn_index(i, task) for i in range(self.turn_iterations)]

    def model_turn(self, m: Model) -> int:
        return self.turn_index(m.iteration, m.task)

    def global_generation(self, m: Model) -> int:
        """0-based generation number over the whole run (the root: -1)."""
        if m.task == ROOT_TASK:
            return -1
        return self.model_turn(m) * self.generations_per_turn + m.generation

    # ---- derived from /models ------------------------------------------------------------
    def best_after_turn(self, turn: int) -> Dict[int, int]:
        """Each task's best model once turn `turn` has ended: µ2Net's rule (highest score, ties
        to the newest) over the task's accepted models sampled up to that turn. A task whose
        first turn has not ended yet is absent."""
        best: Dict[int, Model] = {}
        for m in self.models:
            if m.task == ROOT_TASK or not m.accepted or self.model_turn(m) > turn:
                continue
            b = best.get(m.task)
            if b is None or (m.score, m.id) > (b.score, b.id):
                best[m.task] = m
        return {t: m.id for t, m in best.items()}

    def ancestry(self, model_id: int) -> List[Model]:
        """The model and its ancestors, root first."""
        chain = []
        seen = set()
        mid = model_id
        while mid != -1:
            if mid in seen:
                raise CheckpointError("%s: /models/parent has a cycle through model %d" % (self.path, mid))
            seen.add(mid)
            if mid not in self.model_by_id:
                raise CheckpointError("%s: /models has no row for model %d (an ancestor of model %d)"
                                      % (self.path, mid, model_id))
            m = self.model_by_id[mid]
            chain.append(m)
            mid = m.parent
        return chain[::-1]

    def component_sizes(self) -> "ComponentSizes":
        """Parameters of the components on any model's route, also of those the pool no longer
        holds (see ComponentSizes)."""
        return ComponentSizes(self)

    def pool_after_turn(self, turn: int, sizes: "ComponentSizes"):
        """The pool once turn `turn` has ended: the components on the root's route and on every
        task's best model (a task's turn end keeps only its best model). Returns (component ids,
        parameters or None when the checkpoint does not determine them, {task: best model id})."""
        best = self.best_after_turn(turn)
        comps = {r.component for r in self.model_by_id[self.root_model].route}
        for mid in best.values():
            comps.update(r.component for r in self.model_by_id[mid].route)
        return comps, sizes.total(comps), best


class ComponentSizes:
    """Sizes of components, including those pruned from the pool since. Known: /pool/index.
    Components with the same shape key have the same size (the key is the name, plus the task
    for heads, whose class count is the task's; not adapters, whose dimension is a
    hyperparameter). The rest is constrained by each model's `new_params` (the sum over the
    components it created: those trainable on its route) and `params` (the sum over its route);
    total() answers a sum over a set of components exactly when those equations determine it
    (e.g. two adapters of one model whose sizes are known only together), else None."""

    def __init__(self, ck: Checkpoint):
        sizes: Dict[int, Optional[int]] = {}
        key_of: Dict[int, object] = {}
        for m in ck.models:
            for r in m.route:
                sizes.setdefault(r.component, None)
                if not r.name.startswith("adapter"):
                    key_of[r.component] = (r.name, m.task) if r.name == "head" else r.name
        for c in ck.pool:
            sizes[c.id] = c.size
        by_key: Dict[object, int] = {}
        for cid, key in key_of.items():
            if sizes[cid] is not None:
                by_key.setdefault(key, sizes[cid])
        for cid, key in key_of.items():
            if sizes[cid] is None and key in by_key:
                sizes[cid] = by_key[key]
        equations = []
        for m in ck.models:
            equations.append(([r.component for r in m.route if r.trainable], m.new_params))
            equations.append(([r.component for r in m.route], m.params))
        changed = True
        while changed:  # one unknown at a time, exactly, in integers
            changed = False
            for comps, total in equations:
                unknown = {c for c in comps if sizes[c] is None}
                if len(unknown) == 1:
                    u = unknown.pop()
                    sizes[u] = total - sum(sizes[c] for c in comps if c != u)
                    changed = True
        self.sizes = sizes
        self.unknown = sorted(c for c, s in sizes.items() if s is None)
        col = {c: i for i, c in enumerate(self.unknown)}
        rows, rhs = [], []
        for comps, total in equations:
            if any(sizes[c] is None for c in comps):
                row = np.zeros(len(self.unknown))
                for c in comps:
                    if sizes[c] is None:
                        row[col[c]] += 1
                rows.append(row)
                rhs.append(total - sum(sizes[c] for c in comps if sizes[c] is not None))
        self._col = col
        # The solutions' common part: x, the least-norm solution, and the row space of the
        # equations (V); a sum w.x is the same for every solution iff w lies in that space.
        self._x = np.zeros(len(self.unknown))
        self._v = np.zeros((0, len(self.unknown)))
        if rows:
            a, b = np.array(rows), np.array(rhs, dtype=np.float64)
            u, sv, vt = np.linalg.svd(a, full_matrices=False)
            rank = int((sv > sv.max() * 1e-10).sum()) if sv.size else 0
            self._v = vt[:rank]
            self._x = vt[:rank].T @ ((u[:, :rank].T @ b) / sv[:rank])

    def total(self, comps) -> Optional[int]:
        comps = set(comps)
        if any(c not in self.sizes for c in comps):
            return None
        known = sum(self.sizes[c] for c in comps if self.sizes[c] is not None)
        unknown = [c for c in comps if self.sizes[c] is None]
        if not unknown:
            return int(known)
        w = np.zeros(len(self.unknown))
        for c in unknown:
            w[self._col[c]] = 1
        if np.abs(self._v.T @ (self._v @ w) - w).max() > 1e-6:
            return None  # not determined by the equations
        return int(known + round(float(w @ self._x)))


# ---- reading ---------------------------------------------------------------------------------
def _str(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _need(parent, name, path):
    if name not in parent:
        raise CheckpointError("%s: missing %s/%s (see io/SCHEMA.md)" % (path, parent.name.rstrip("/"), name))
    return parent[name]


def _attr(obj, name, path):
    if name not in obj.attrs:
        raise CheckpointError("%s: %s has no attribute '%s' (see io/SCHEMA.md)" % (path, obj.name, name))
    v = obj.attrs[name]
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray):
        return [_str(x) if isinstance(x, (bytes, str)) else x.item() for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _attrs(obj):
    return {k: _attr(obj, k, "") for k in obj.attrs}


def _table(f, group, columns, path):
    """Reads the named columns of a table group; they must all have the same length."""
    g = _need(f, group, path)
    out = {}
    for c in columns:
        d = _need(g, c, path)
        v = d[()]
        if d.dtype.kind == "O":
            v = [_str(x) for x in v]
        out[c] = v
    return out


def _rows(table, columns, n, group, path):
    for c in columns:
        if len(table[c]) != n:
            raise CheckpointError("%s: /%s/%s has %d rows, expected %d" % (path, group, c, len(table[c]), n))


def _lists(table, offsets_col, value_col, n, group, path):
    off = np.asarray(table[offsets_col], dtype=np.int64)
    vals = table[value_col]
    if len(off) != n + 1 or (n and (off[0] != 0 or off[-1] != len(vals) or np.any(np.diff(off) < 0))):
        raise CheckpointError("%s: /%s/%s does not index /%s/%s (%d offsets for %d rows and %d values)"
                              % (path, group, offsets_col, group, value_col, len(off), n, len(vals)))
    return [list(vals[off[i]:off[i + 1]]) for i in range(n)]


def load(path: str) -> Checkpoint:
    """Reads a checkpoint file, or the newest complete one of a run folder (see resolve())."""
    path = resolve(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise CheckpointError("%s: cannot open as HDF5 (%s)" % (path, e)) from None
    with f:
        fmt = f.attrs.get("format")
        fmt = _str(fmt) if fmt is not None else None
        if fmt != FORMAT:
            raise CheckpointError("%s: not a munet checkpoint (root attribute format is %r, expected %r)"
                                  % (path, fmt, FORMAT))
        version = int(f.attrs.get("format_version", -1))
        if version not in FORMAT_VERSIONS:
            raise CheckpointError("%s: checkpoint format version %d, these tools read versions %s"
                                  % (path, version, ", ".join(map(str, FORMAT_VERSIONS))))
        if int(f.attrs.get("complete", 0)) != 1:
            raise CheckpointError("%s: incomplete checkpoint (no complete = 1 root attribute)" % path)
        if version >= CHECKSUMMED_VERSION:  # the tables and attributes; parameter values are not read
            try:
                file_digest.verify(f, path, file_digest.is_checkpoint_parameter)
            except file_digest.DigestError as e:
                raise CheckpointError(str(e)) from None
        else:
            print("warning: %s: checkpoint format version %d carries no checksums: its tables are read unverified"
                  % (path, version), file=sys.stderr)

        config = _attrs(_need(f, "config", path))
        for key in ["tasks", "children_per_task", "parallel_slots", "task_iterations"]:
            _attr(f["config"], key, path)
        if version == 1:  # fields it lacks take their legacy values; baseline was 0/1
            config["baseline"] = "transfer" if int(config.get("baseline", 0)) else "none"
            for key, legacy in CONFIG_FIELDS.items():
                if legacy is not None:
                    config.setdefault(key, legacy)
        else:
            for key in CONFIG_FIELDS:
                _attr(f["config"], key, path)
        progress = _attrs(_need(f, "progress", path))
        for key in ["generations_done", "total_generations", "root_model"]:
            _attr(f["progress"], key, path)
        run_info = _attrs(f["run_info"]) if "run_info" in f else {}

        tcols = ["name", "num_classes", "best_model", "children", "accepted", "validation_accuracy",
                 "test_accuracy", "activated_params", "owned_params", "activated_share"]
        t = _table(f, "tasks", tcols, path)
        nt = len(t["name"])
        _rows(t, tcols, nt, "tasks", path)
        if list(t["name"]) != list(config["tasks"]):
            raise CheckpointError("%s: /tasks/name %s differs from /config tasks %s" % (path, t["name"], config["tasks"]))
        tasks = [Task(i, t["name"][i], int(t["num_classes"][i]), int(t["best_model"][i]), int(t["children"][i]),
                      int(t["accepted"][i]), float(t["validation_accuracy"][i]), float(t["test_accuracy"][i]),
                      int(t["activated_params"][i]), int(t["owned_params"][i]), float(t["activated_share"][i]))
                 for i in range(nt)]
        # absent before task files; stage, joined_at and task_copy absent before version 3 (one stage)
        for key in ["source", "content_hash", "task_file", "stage", "joined_at", "task_copy"]:
            if key in f["tasks"]:
                values = _table(f, "tasks", [key], path)[key]
                _rows({key: values}, [key], nt, "tasks", path)
                for task, v in zip(tasks, values):
                    setattr(task, key, v if isinstance(v, str) else int(v))

        mcols = ["id", "task", "parent", "iteration", "generation", "slot", "accepted", "quality", "score",
                 "test_accuracy", "params", "new_params", "accounted_params", "flops", "train_seconds",
                 "train_images", "route_offsets", "route_component", "route_name", "route_trainable",
                 "validation_offsets", "validation_accuracy", "mutation_offsets", "mutation"]
        m = _table(f, "models", mcols, path)
        nm = len(m["id"])
        _rows(m, mcols[:16], nm, "models", path)
        hp = _need(f, "models/hparams", path)
        names = _attr(f["models"], "hparam_names", path)
        if hp.shape != (nm, len(names)):
            raise CheckpointError("%s: /models/hparams has shape %s, expected (%d, %d)" % (path, hp.shape, nm, len(names)))
        hparams = hp[()]
        route_c = _lists(m, "route_offsets", "route_component", nm, "models", path)
        route_n = _lists(m, "route_offsets", "route_name", nm, "models", path)
        route_t = _lists(m, "route_offsets", "route_trainable", nm, "models", path)
        vals = _lists(m, "validation_offsets", "validation_accuracy", nm, "models", path)
        muts = _lists(m, "mutation_offsets", "mutation", nm, "models", path)
        models = []
        for i in range(nm):
            models.append(Model(
                int(m["id"][i]), int(m["task"][i]), int(m["parent"][i]), int(m["iteration"][i]),
                int(m["generation"][i]), int(m["slot"][i]), bool(m["accepted"][i]), float(m["quality"][i]),
                float(m["score"][i]), float(m["test_accuracy"][i]), int(m["params"][i]), int(m["new_params"][i]),
                float(m["accounted_params"][i]), float(m["flops"][i]), float(m["train_seconds"][i]),
                int(m["train_images"][i]), {n: float(hparams[i, j]) for j, n in enumerate(names)},
                [RouteEntry(int(c), n, bool(tr)) for c, n, tr in zip(route_c[i], route_n[i], route_t[i])],
                [float(v) for v in vals[i]], list(muts[i])))

        pool_g = _need(f, "pool", path)
        pcols = ["id", "name", "kind", "owner", "size", "has_velocity", "lock_offsets", "lock_task"]
        p = _table(f, "pool/index", pcols, path)
        npool = len(p["id"])
        _rows(p, pcols[:6], npool, "pool/index", path)
        locks = _lists(p, "lock_offsets", "lock_task", npool, "pool/index", path)
        pool = [Component(int(p["id"][i]), p["name"][i], p["kind"][i], int(p["owner"][i]), int(p["size"][i]),
                          bool(p["has_velocity"][i]), [int(x) for x in locks[i]]) for i in range(npool)]
        pool_components = int(_attr(pool_g, "components", path))
        pool_parameters = int(_attr(pool_g, "parameters", path))

    ck = Checkpoint(path, config, tasks, models, pool, pool_components, pool_parameters, progress, run_info)
    ck.model_by_id = {mm.id: mm for mm in models}
    ck.component_by_id = {c.id: c for c in pool}
    if len(ck.model_by_id) != nm:
        raise CheckpointError("%s: /models/id has duplicate ids" % path)
    if ck.root_model not in ck.model_by_id:
        raise CheckpointError("%s: /progress root_model %d has no row in /models" % (path, ck.root_model))
    for task in tasks:
        task.params_created = sum(c.size for c in pool if c.owner == task.index)
        if task.best_model != -1 and task.best_model not in ck.model_by_id:
            raise CheckpointError("%s: /tasks/best_model of %s is model %d, which /models lacks"
                                  % (path, task.name, task.best_model))
    return ck


_CKPT_RE = re.compile(r"^ckpt-(\d+)\.h5$")


def _is_complete(path):
    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs.get("complete", 0)) == 1
    except OSError:
        return False


def run_checkpoints(folder: str) -> List[str]:
    """A run folder's checkpoint files (FOLDER/checkpoints/ckpt-*.h5, or FOLDER/ckpt-*.h5), oldest first."""
    for d in [os.path.join(folder, "checkpoints"), folder]:
        files = [p for p in glob.glob(os.path.join(d, "ckpt-*.h5")) if _CKPT_RE.match(os.path.basename(p))]
        if files:
            return sorted(files, key=lambda p: int(_CKPT_RE.match(os.path.basename(p)).group(1)))
    return []


def resolve(path: str) -> str:
    """A checkpoint file as given, or for a run folder (`munet evolve --output DIR`) its newest
    complete checkpoint, as `munet evolve` resumes."""
    if os.path.isdir(path):
        for p in reversed(run_checkpoints(path)):
            if _is_complete(p):
                return p
        raise CheckpointError("%s: no complete checkpoint (ckpt-*.h5) in this folder or its checkpoints/" % path)
    if not os.path.exists(path):
        raise CheckpointError("%s: no such checkpoint file or run folder" % path)
    return path


def parser(doc):
    """An argument parser for a tool whose module docstring is `doc`, with its CHECKPOINT argument."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint file, or a run folder (its newest complete checkpoint)")
    return ap


def cli(main):
    """Runs a tool's main(), turning checkpoint and file errors into one line on stderr, exit 1."""
    try:
        sys.exit(main())
    except (CheckpointError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
