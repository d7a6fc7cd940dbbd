#!/bin/sh
# 5-fold cross-validation of `parley themes train` on train.csv, scored by the held-out
# measurement's own score.py: split (seed 7), train one model per fold, tag the fold's
# comments with `parley analyse`, concatenate the folds in order and score.
#
# usage: themes/model/cv.sh [TRAIN_CSV] [WORKDIR]    (run from the repository root)
#   PARLEY       the parley binary (default: $CARGO_TARGET_DIR or target, release, else debug)
#   TRAIN_ARGS   extra arguments for `parley themes train`
set -eu
DATA=${NHS_FFT_DIR:-../shared/data/nhs-fft}
TRAIN=${1:-$DATA/train.csv}
WORK=${2:-/tmp/parley-cv}
K=5
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${PARLEY:-}" ]; then
    PARLEY=$TARGET/release/parley
    [ -x "$PARLEY" ] || PARLEY=$TARGET/debug/parley
fi
python3 themes/model/cv_split.py "$TRAIN" "$WORK" $K 7
: > "$WORK/all.jsonl"
k=0
while [ $k -lt $K ]; do
    # shellcheck disable=SC2086
    "$PARLEY" themes train --input "$WORK/train$k.csv" --out "$WORK/m$k.model" \
        --map "$DATA/theme-map.json" ${TRAIN_ARGS:-} >/dev/null
    sed "s|^\[themes\]|[themes]\nmodel = \"$WORK/m$k.model\"|" config/example.toml > "$WORK/cfg$k.toml"
    "$PARLEY" analyse --config "$WORK/cfg$k.toml" --input "$WORK/text$k.csv" --csv --format jsonl --no-text \
        >> "$WORK/all.jsonl"
    k=$((k + 1))
done
python3 "$DATA/score.py" "$WORK/all.csv" "$WORK/all.jsonl"
