// Writes vectors.txt: inputs and the order Go's sort.Slice leaves them in, for
// core/src/pack/go_sort.rs's test. Run with `go run gen.go > vectors.txt`.
package main

import (
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
)

func main() {
	r := rand.New(rand.NewSource(20261206))
	var cases [][]int
	// Random keys, few to many distinct values.
	for n := 0; n <= 100; n++ {
		for _, m := range []int{1, 2, 3, 7, n + 1} {
			keys := make([]int, n)
			for i := range keys {
				keys[i] = r.Intn(m)
			}
			cases = append(cases, keys)
		}
	}
	// Karpenter's pattern: pod counts in sorted order, then one claim gains a pod or a new
	// claim of one pod is appended.
	for t := 0; t < 400; t++ {
		n := 1 + r.Intn(120)
		keys := make([]int, n)
		for i := range keys {
			keys[i] = 1 + r.Intn(1+r.Intn(6))
		}
		sort.Ints(keys)
		if r.Intn(3) == 0 {
			keys = append(keys, 1)
		} else {
			keys[r.Intn(n)]++
		}
		cases = append(cases, keys)
	}
	// Shapes that make the quicksort reverse, shuffle or fall back to heapsort.
	for _, n := range []int{13, 49, 50, 64, 100, 257, 1000} {
		dec, saw, pipe, same := make([]int, n), make([]int, n), make([]int, n), make([]int, n)
		for i := 0; i < n; i++ {
			dec[i] = n - i
			saw[i] = i % 5
			pipe[i] = min(i, n-1-i)
			same[i] = 4
		}
		cases = append(cases, dec, saw, pipe, same)
	}
	for _, n := range []int{500, 1500} {
		for _, m := range []int{3, 40} {
			keys := make([]int, n)
			for i := range keys {
				keys[i] = r.Intn(m)
			}
			cases = append(cases, keys)
		}
	}
	var b strings.Builder
	for _, keys := range cases {
		idx := make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, c int) bool { return keys[idx[a]] < keys[idx[c]] })
		fmt.Fprintf(&b, "%s | %s\n", join(keys), join(idx))
	}
	os.Stdout.WriteString(b.String())
}

func join(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}
