# shellcheck shell=bash
# Sourced by the A/B benchmarks (ab-resp.sh, tls-vs-plain.sh,
# router-backend-tls.sh): each round measures A and B once per test, and the
# report gives the median requests/s of each and the median of the
# per-round ratios B/A with their range.
declare -A pair_a pair_b pair_ratio

# pair_record <prefix> <suffix> <A file> <B file>: one round of "TEST rps"
# lines; each test is recorded under the key "<prefix>TEST<suffix>".
pair_record() {
  local prefix=$1 suffix=$2 t v k
  local -A x=() y=()
  while read -r t v; do x[$t]=$v; done <"$3"
  while read -r t v; do y[$t]=$v; done <"$4"
  for t in "${!x[@]}"; do
    k="$prefix$t$suffix"
    pair_a[$k]+="${x[$t]} "
    pair_b[$k]+="${y[$t]:-0} "
    pair_ratio[$k]+="$(awk -v a="${x[$t]}" -v b="${y[$t]:-0}" 'BEGIN {print b / a}') "
  done
}

pair_sorted() { tr ' ' '\n' | grep -v '^$' | sort -g; }
pair_median() { pair_sorted | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# pair_report <key width> <ratio width> <key> <A> <B> <B/A> <range>: the
# table, one row per key, with the given column titles.
pair_report() {
  local kw=$1 rw=$2 key k
  shift 2
  printf "%-${kw}s %12s %12s %${rw}s %12s\n" "$@"
  for key in $(printf '%s\n' "${!pair_ratio[@]}" | sort | tr ' ' '_'); do
    k=${key//_/ }
    printf "%-${kw}s %12.0f %12.0f %$((rw - 1)).2fx %6.2f-%.2f\n" "$k" \
      "$(echo "${pair_a[$k]}" | pair_median)" "$(echo "${pair_b[$k]}" | pair_median)" \
      "$(echo "${pair_ratio[$k]}" | pair_median)" \
      "$(echo "${pair_ratio[$k]}" | pair_sorted | head -1)" \
      "$(echo "${pair_ratio[$k]}" | pair_sorted | tail -1)"
  done
}
