"""Builds recipekit/data/cifar10_sample.tar.gz from the shared CIFAR-10 archive.

The sample holds the first TRAIN_PER_CLASS training and TEST_PER_CLASS test images
of every class (by file name), byte for byte as they are in the shared archive, in
the layout <split>/<class>/<image>.jpg. The output is reproducible: members are
sorted and carry a fixed owner and modification time.

    python tools/make_cifar10_sample.py [--source ../shared/data/cifar10-jpeg.tar.gz]
"""

import argparse
import gzip
import io
import os
import tarfile

TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 100
OUT = os.path.join(os.path.dirname(__file__), "..", "recipekit", "data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="../shared/data/cifar10-jpeg.tar.gz")
    parser.add_argument("--out", default=os.path.join(OUT, "cifar10_sample.tar.gz"))
    args = parser.parse_args()
    limits = {"train": TRAIN_PER_CLASS, "test": TEST_PER_CLASS}
    chosen = {}
    with tarfile.open(args.source) as source:
        for member in source:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 3 or parts[0] not in limits:
                continue
            index = int(os.path.splitext(parts[2])[0])
            if index < limits[parts[0]]:
                chosen[member.name] = source.extractfile(member).read()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
        for name in sorted(chosen):
            info = tarfile.TarInfo(name)
            info.size = len(chosen[name])
            info.mtime = 1_700_000_000
            info.mode = 0o644
            out.addfile(info, io.BytesIO(chosen[name]))
    with open(args.out, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
            gz.write(buffer.getvalue())
    print(f"{args.out}: {len(chosen)} images, {os.path.getsize(args.out):,} bytes")


if __name__ == "__main__":
    main()
