#!/usr/bin/env bash
# Bounded fuzzing of the .edgec reader + prepare + invoke under ASan/UBSan (and clang's
# integer checks), and the reader's line coverage over the resulting corpus.
#   tests/fuzz/run_fuzz.sh [RUNS=100000] [SECONDS=240] [WORKDIR]
# libFuzzer (clang) when available, else the portable mutation driver (gcc).
set -euo pipefail
RUNS=${1:-100000}
SECONDS_MAX=${2:-240}
WORK=${3:-$(mktemp -d)}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=("$ROOT"/runtime/core/*.c "$ROOT"/runtime/ops/*.c "$ROOT/tests/fuzz/fuzz_model.c")
INC=(-I"$ROOT/runtime/include" -I"$ROOT/runtime/core")
mkdir -p "$WORK/seeds" "$WORK/corpus"
python "$ROOT/tests/fuzz/make_seeds.py" "$WORK/seeds" >/dev/null
cp "$WORK"/seeds/*.edgec "$WORK/corpus/"
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

if command -v clang >/dev/null && echo 'int LLVMFuzzerTestOneInput(const char*d,unsigned long n){return 0;}' |
     clang -x c - -fsanitize=fuzzer -o "$WORK/probe" 2>/dev/null; then
  # clang's integer checks too: unsigned wrap-around and lossy implicit conversions are
  # defined C but are how size checks get bypassed (a dims product wrapping to 0 was one)
  INTEGER=""
  echo 'int LLVMFuzzerTestOneInput(const char*d,unsigned long n){return 0;}' |
    clang -x c - -fsanitize=fuzzer,integer -o "$WORK/probe" 2>/dev/null && INTEGER=",integer"
  clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined$INTEGER -fno-sanitize-recover=all "${INC[@]}" \
    -DEDGEC_NO_THREADS "${SRC[@]}" -lm -o "$WORK/fuzz_model"
  status=0
  (cd "$WORK" && "$WORK/fuzz_model" -runs="$RUNS" -max_total_time="$SECONDS_MAX" -max_len=32768 \
     -print_final_stats=1 "$WORK/corpus") > "$WORK/fuzz.log" 2>&1 || status=$?
  if [ "$status" != 0 ] || grep -qE "==ERROR|runtime error|deadly signal" "$WORK/fuzz.log"; then
    grep -E -A30 "==ERROR|runtime error" "$WORK/fuzz.log" | head -60
    echo "fuzz: FAILED (exit $status); reproducer: $(ls "$WORK"/crash-* "$WORK"/leak-* "$WORK"/timeout-* 2>/dev/null)"
    exit 1
  fi
  echo "fuzz: $(grep -o 'number_of_executed_units: [0-9]*' "$WORK/fuzz.log") inputs, no crash (libFuzzer, ASan+UBSan${INTEGER:+ +integer})"
  # line coverage of the reader and interpreter over the corpus the fuzzer kept
  if command -v llvm-profdata >/dev/null && command -v llvm-cov >/dev/null; then
    clang -std=c99 -O0 -fprofile-instr-generate -fcoverage-mapping "${INC[@]}" -DEDGEC_NO_THREADS "${SRC[@]}" \
      "$ROOT/tests/fuzz/fuzz_driver.c" -lm -o "$WORK/fuzz_cov"
    LLVM_PROFILE_FILE="$WORK/cov.profraw" "$WORK/fuzz_cov" 0 "$WORK"/corpus/* >/dev/null
    llvm-profdata merge -o "$WORK/cov.profdata" "$WORK/cov.profraw"
    llvm-cov report "$WORK/fuzz_cov" -instr-profile="$WORK/cov.profdata" \
      "$ROOT/runtime/core/reader.c" "$ROOT/runtime/core/interp.c" | tail -n 4
  fi
else
  gcc -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all "${INC[@]}" -DEDGEC_NO_THREADS \
    "${SRC[@]}" "$ROOT/tests/fuzz/fuzz_driver.c" -lm -o "$WORK/fuzz_model"
  "$WORK/fuzz_model" "$RUNS" "$WORK"/seeds/*.edgec
fi
