#!/usr/bin/env bash
# Link each dataset folder of a data directory (default ../shared/data, the
# real sample crops) into data/, where the configs expect them
# (data/cityscapes, data/isaid, ...). Existing entries in data/ (your own
# datasets) are left alone; the source tree is never modified or copied.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${1:-$root/../shared/data}"
if [ ! -d "$src" ]; then
    echo "link_data: no data directory at $src" >&2
    exit 1
fi
src="$(cd "$src" && pwd)"
mkdir -p "$root/data"
for d in "$src"/*/; do
    name="$(basename "$d")"
    if [ -e "$root/data/$name" ] || [ -L "$root/data/$name" ]; then
        echo "link_data: data/$name exists, kept"
    else
        ln -s "${d%/}" "$root/data/$name"
        echo "link_data: data/$name -> ${d%/}"
    fi
done
