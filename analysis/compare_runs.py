#!/usr/bin/python3
"""Compares munet runs on the same tasks, e.g. µ2Net evolution against the paper's baselines
(finetune, freeze:K, adapters:D) or against --baseline transfer: per task and run, test and
validation accuracy, parameters added, activated share, training images and training hours;
how many tasks the first run wins against each other run; and, with --first-generation, each
task's best validation accuracy after its first generation (the µ2Net effect: a later task
starts from the layers earlier tasks left in the pool).

It exists so that docs/results.md and the quickstart's comparison come from the checkpoints by
one command, not by hand. A run folder's time.log (lines "wall user system exit", one per
segment, as jobs/character_benchmark.sh writes with /usr/bin/time) gives its CPU-hours; without
one, the run's CPU-hours are not shown. An unfinished run is compared as far as it got, and
says so.

  compare_runs.py [LABEL=]RUN [[LABEL=]RUN ...] [--first-generation] [--markdown FILE]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_data  # noqa: E402
from results_table import percent  # noqa: E402


class Run:
    def __init__(self, spec):
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = os.path.basename(os.path.normpath(spec)), spec
        self.label, self.path = label, path
        self.ck = checkpoint_data.load(checkpoint_data.resolve(path))
        self.cpu_hours, self.wall_hours = self._times()

    def _times(self):
        log = os.path.join(self.path, "time.log")
        if not os.path.isdir(self.path) or not os.path.exists(log):
            return None, None
        wall = cpu = 0.0
        with open(log) as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if not parts or not parts[0].replace(".", "", 1).isdigit():
                    continue  # /usr/bin/time's "Command exited with non-zero status" lines
                if len(parts) < 3:
                    raise checkpoint_data.CheckpointError("%s:%d: expected 'wall user system [exit]'" % (log, n))
                wall += float(parts[0])
                cpu += float(parts[1]) + float(parts[2])
        return cpu / 3600, wall / 3600

    @property
    def finished(self):
        return self.ck.generations_done >= self.ck.total_generations

    def state(self):
        if self.finished:
            return "finished"
        return "unfinished: %d of %d generations" % (self.ck.generations_done, self.ck.total_generations)

    def task(self, name):
        for t in self.ck.tasks:
            if t.name == name:
                return t
        return None

    def task_models(self, task):
        return [m for m in self.ck.models if m.task == task.index]

    def first_generation_best(self, task):
        """The best validation accuracy among the task's first-generation children, or -1
        before that generation has ended."""
        first = [m for m in self.task_models(task) if m.iteration == 0 and m.generation == 0]
        if not first or self.ck.generations_done <= self.ck.global_generation(first[0]):
            return -1.0
        return max(m.quality for m in first)


def count(n):
    return "{:,}".format(n)


def task_names(runs):
    names = []
    for r in runs:
        for t in r.ck.tasks:
            if t.name not in names:
                names.append(t.name)
    return names


def results_section(runs):
    out = ["| task | run | test accuracy | validation accuracy | params added | activated share | "
           "training images | training hours |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name in task_names(runs):
        for r in runs:
            t = r.task(name)
            if t is None:
                continue
            models = r.task_models(t)
            done = t.best_model != -1
            out.append("| %s | %s | %s | %s | %s | %s | %s | %.3f |" % (
                name, r.label, percent(t.test_accuracy if done else -1),
                percent(t.validation_accuracy if done else -1), count(t.params_created),
                "%.1f%%" % (100 * t.activated_share) if done else "–",
                count(sum(m.train_images for m in models)), sum(m.train_seconds for m in models) / 3600))
    out += ["", "| run | state | baseline | CPU-hours | wall hours | training images | pool parameters |",
            "|---|---|---|---:|---:|---:|---:|"]
    for r in runs:
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r.label, r.state(), r.ck.config.get("baseline", "none"),
            "–" if r.cpu_hours is None else "%.2f" % r.cpu_hours,
            "–" if r.wall_hours is None else "%.2f" % r.wall_hours,
            count(sum(m.train_images for m in r.ck.models)), count(r.ck.pool_parameters)))
    return out


def wins_section(runs):
    """The first run against each other: tasks it wins on test accuracy, and of those, the ones
    where it also added fewer parameters."""
    first = runs[0]
    out = ["", "%s against each other run, over the tasks both have finished:" % first.label, "",
           "| against | tasks | higher test accuracy | ... and fewer params added |", "|---|---:|---:|---:|"]
    for other in runs[1:]:
        both = wins = lean = 0
        for name in task_names(runs):
            a, b = first.task(name), other.task(name)
            if a is None or b is None or a.best_model == -1 or b.best_model == -1:
                continue
            both += 1
            if a.test_accuracy > b.test_accuracy:
                wins += 1
                lean += a.params_created < b.params_created
        out.append("| %s | %d | %d | %d |" % (other.label, both, wins, lean))
    return out


def first_generation_section(runs):
    out = ["| task | " + " | ".join(r.label for r in runs) + " |", "|---|" + "---:|" * len(runs)]
    for name in task_names(runs):
        cells = []
        for r in runs:
            t = r.task(name)
            cells.append("–" if t is None else percent(r.first_generation_best(t)))
        out.append("| %s | %s |" % (name, " | ".join(cells)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("runs", nargs="+", metavar="[LABEL=]RUN", help="run folder or checkpoint, optionally labelled")
    p.add_argument("--first-generation", action="store_true",
                   help="only each task's best validation accuracy after its first generation, per run")
    p.add_argument("--markdown", metavar="FILE", help="write the tables here instead of stdout")
    a = p.parse_args()
    runs = [Run(spec) for spec in a.runs]
    if a.first_generation:
        lines = first_generation_section(runs)
    else:
        lines = results_section(runs) + (wins_section(runs) if len(runs) > 1 else [])
    text = "\n".join(lines) + "\n"
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    checkpoint_data.cli(main)
