#!/usr/bin/env bash
# Train the 3DGAN on a leased GPU for a fixed number of minutes and bring the resumable run back.
#
# On the device machine, from the repository root (its python3 holds torch, h5py, typer, rich, safetensors:
# all that `caloquant train` imports):
#     scripts/device_train.sh RUN MINUTES [more `caloquant train` options]
# RUN is a folder under runs/: carried there when it exists (resume), created otherwise. Training data are
# read from .devdata/ (carry it; `scripts/device_train.sh --prepare` fills it here with the Geant4 training
# showers) or, with --no-data, generated on the machine by the simulator. The run's files come back under
# $OUT/RUN, the checkpoint in parts of 15 MB (the device tool returns files of at most 16 MiB); here,
# `scripts/device_train.sh --collect FILES_AT/RUN runs/RUN` joins them into a resumable run folder.
#
# Defaults: bf16 autocast (native on the GPU), batch 512, the shape loss and EMA of docs/training.md,
# validation on the first 1 200 showers of geant4_electrons_100-500GeV.h5 when carried in .devdata/.
set -euo pipefail
cd "$(dirname "$0")/.."
G4=../shared/data/geant4

if [[ "${1:-}" == "--prepare" ]]; then  # here: copy the training and validation showers to carry
    mkdir -p .devdata
    grep -qx '/.devdata/' .git/info/exclude 2>/dev/null || echo '/.devdata/' >> .git/info/exclude
    cp "$G4/geant4_electrons_100-500GeV_part3.h5" .devdata/train.h5
    echo "carry .devdata (and runs/RUN to resume); $(du -sh .devdata | cut -f1) of the 64 MiB the tool carries"
    exit 0
fi
if [[ "${1:-}" == "--collect" ]]; then  # here: join the returned parts into a resumable run folder
    src=$2 dst=$3
    mkdir -p "$dst"
    for f in "$src"/*; do
        case "$f" in *.part-*) ;; *) cp "$f" "$dst/";; esac
    done
    tensors=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tensors'])" "$src/state.json")
    cat "$src/$tensors".part-* > "$dst/$tensors.tmp" && mv "$dst/$tensors.tmp" "$dst/$tensors"
    echo "collected $dst at step $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$dst/state.json")"
    exit 0
fi

run=${1:?usage: scripts/device_train.sh RUN MINUTES [train options]}
minutes=${2:?usage: scripts/device_train.sh RUN MINUTES [train options]}
shift 2
data=()
if [[ "${1:-}" == "--no-data" ]]; then
    shift
elif [[ -f .devdata/train.h5 ]]; then
    data=(--data .devdata/train.h5)
fi
validation=()
[[ -f .devdata/validation.h5 ]] && validation=(--validation .devdata/validation.h5 --val-count 1200)
export PYTHONPATH=src PYTHONUNBUFFERED=1
python3 -m caloquant.cli.main train -o "runs/$run" --device "${CALOQUANT_DEVICE:-cuda}" --minutes "$minutes" \
    --batch-size 512 --w-shape 1 --ema-decay 0.999 --select required --d-input-power 0.5 --val-every 100 \
    --ckpt-every 100 "${data[@]}" "${validation[@]}" "$@"
out=${OUT:?OUT: the folder whose files come back}/$run
mkdir -p "$out"
cp "runs/$run/state.json" "runs/$run/log.jsonl" "$out/"
[[ -f "runs/$run/best_generator.safetensors" ]] && cp "runs/$run/best_generator.safetensors" "$out/"
tensors=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tensors'])" "runs/$run/state.json")
split -b 15M -d "runs/$run/$tensors" "$out/$tensors.part-"
ls -la "$out"
