# Sourced by the benchmark scripts. write_benchmark_section NAME SECTION: replaces the part of BENCHMARKS.md between
# `<!-- NAME:begin -->` and `<!-- NAME:end -->` (SECTION carries both markers) with SECTION, or appends SECTION when
# the file has no such part yet; every other section stays as it is.
write_benchmark_section() {
    local name=$1 section=$2
    if grep -q "^<!-- $name:begin -->" BENCHMARKS.md; then
        awk -v section="$section" -v begin="<!-- $name:begin -->" -v end="<!-- $name:end -->" '
            $0 == begin { print section; skip = 1; next }
            $0 == end { skip = 0; next }
            !skip { print }' BENCHMARKS.md >BENCHMARKS.md.new
        mv BENCHMARKS.md.new BENCHMARKS.md
    else
        printf '\n%s\n' "$section" >>BENCHMARKS.md
    fi
}
