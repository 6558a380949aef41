"""Reads and writes munet task files with h5py alone (io/SCHEMA.md, "Task files").

usage: check_task_file.py read FILE.h5 NAME CLASSES TRAIN VALIDATION TEST H W C
         checks the layout, attributes and split sizes, each stored images chunk against
         images_xxh3 (version 3), and recomputes the content hash
       check_task_file.py write OUT.h5 NAME
         writes a small 2-class task (8x8 grey) from NumPy arrays, with its content hash
Needs Debian's python3-h5py, python3-numpy and python3-xxhash.
"""
import os
import sys

import h5py
import numpy as np
import xxhash

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
import file_digest  # noqa: E402

SPLITS = ("train", "validation", "test")


def content_hash(name, num_classes, splits):
    """XXH3-128 over name, 0 byte, num_classes, and per split N, H, W, C, images, labels (int32 LE)."""
    h = xxhash.xxh3_128()
    h.update(name.encode("utf-8") + b"\0")
    h.update(np.int64(num_classes).astype("<i8").tobytes())
    for images, labels in splits:
        h.update(np.asarray(images.shape, dtype="<i8").tobytes())
        h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
        h.update(np.ascontiguousarray(labels, dtype="<i4").tobytes())
    return h.hexdigest()


def read(path, name, classes, train, validation, test, height, width, channels):
    with h5py.File(path, "r") as f:
        attrs = f.attrs
        assert attrs["format"] == "munet-task", attrs["format"]
        version = int(attrs["format_version"])
        assert version in (1, 2, 3), version
        if version >= 2:  # /digest over every attribute (io/file_digest.h); the arrays have the content hash
            arrays = {f"/{s}/{a}" for s in SPLITS for a in ("images", "labels")}
            file_digest.verify(f, path, lambda p: p in arrays)
        assert attrs["name"] == name, attrs["name"]
        assert int(attrs["num_classes"]) == int(classes)
        assert len(attrs["class_names"]) == int(classes)
        assert attrs["source"]
        if version >= 3:  # each stored (compressed) chunk of the images against images_xxh3
            for split in SPLITS:
                images, sums = f[split]["images"], f[split]["images_xxh3"][...]
                rows = images.chunks[0]
                assert len(sums) == -(-images.shape[0] // rows), (split, len(sums))
                for k, expected in enumerate(sums):
                    _, stored = images.id.read_direct_chunk((k * rows, 0, 0, 0))
                    got = xxhash.xxh3_64_intdigest(stored)
                    assert got == int(expected), f"{path}: /{split}/images chunk {k}: {got:016x} != {int(expected):016x}"
        splits = []
        for split, n in zip(SPLITS, (train, validation, test)):
            images, labels = f[split]["images"][...], f[split]["labels"][...]
            assert images.dtype == np.uint8 and labels.dtype == np.int32, (images.dtype, labels.dtype)
            assert images.shape == (int(n), int(height), int(width), int(channels)), (split, images.shape)
            assert labels.shape == (int(n),)
            assert labels.min() >= 0 and labels.max() < int(classes)
            splits.append((images, labels))
        got = content_hash(name, int(classes), splits)
        assert attrs["content_hash"] == got, (attrs["content_hash"], got)
    print(f"h5py read {path}: {name}, {classes} classes, {train}/{validation}/{test}, hash {got} verified")


def write(path, name):
    rng = np.random.default_rng(1)
    splits = []
    for n in (40, 10, 10):
        labels = (np.arange(n) % 2).astype(np.int32)
        images = rng.integers(0, 60, size=(n, 8, 8, 1), dtype=np.uint8)
        images[labels == 1, 2:6, 2:6, 0] += 180  # class 1: a bright square
        splits.append((images, labels))
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "munet-task"
        f.attrs["format_version"] = 1
        f.attrs["name"] = name
        f.attrs["num_classes"] = 2
        f.attrs.create("class_names", ["plain", "square"], dtype=h5py.string_dtype())
        f.attrs["source"] = "written by tests/cli/check_task_file.py with h5py"
        for split, (images, labels) in zip(SPLITS, splits):
            f.create_dataset(f"{split}/images", data=images)
            f.create_dataset(f"{split}/labels", data=labels)
        f.attrs["content_hash"] = content_hash(name, 2, splits)
    print(f"h5py wrote {path}")


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(*sys.argv[2:])
    else:
        write(*sys.argv[2:])
