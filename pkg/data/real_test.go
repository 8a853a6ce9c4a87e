package data

import (
	"bytes"
	"fmt"
	"testing"
)

// realSet loads a real data set from data/, skipping when `make data` has not run.
func realSet(t testing.TB, set, split string) *Dataset {
	t.Helper()
	if st := SetStatus("", set); !st.Usable {
		t.Skipf("%s not available (%s); run `make data`", set, st.Error)
	}
	d, err := Load("", set, split)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func counts(labels []int) []int {
	c := make([]int, 10)
	for _, l := range labels {
		c[l]++
	}
	return c
}

func TestRealMNIST(t *testing.T) {
	tr := realSet(t, MNIST, "train")
	if tr.N() != 60000 || tr.D() != 784 {
		t.Fatalf("MNIST train: %d × %d", tr.N(), tr.D())
	}
	// The official training labels start 5 0 4 1 9 2 1 3 1 4 and have these class counts.
	if got := fmt.Sprint(tr.Labels[:10]); got != "[5 0 4 1 9 2 1 3 1 4]" {
		t.Errorf("first labels %s", got)
	}
	if got := fmt.Sprint(counts(tr.Labels)); got != "[5923 6742 5958 6131 5842 5421 5918 6265 5851 5949]" {
		t.Errorf("class counts %s", got)
	}
	te := realSet(t, MNIST, "test")
	if te.N() != 10000 || fmt.Sprint(te.Labels[:5]) != "[7 2 1 0 4]" {
		t.Errorf("MNIST test: %d, %v", te.N(), te.Labels[:5])
	}
	var lo, hi float32 = 1, 0
	for _, v := range tr.X {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
	}
}

func TestRealFashionMNIST(t *testing.T) {
	tr := realSet(t, Fashion, "train")
	if tr.N() != 60000 || tr.D() != 784 {
		t.Fatalf("Fashion-MNIST train: %d × %d", tr.N(), tr.D())
	}
	// Fashion-MNIST is balanced: 6000 per class in train, 1000 in test.
	if got := fmt.Sprint(counts(tr.Labels)); got != "[6000 6000 6000 6000 6000 6000 6000 6000 6000 6000]" {
		t.Errorf("class counts %s", got)
	}
	te := realSet(t, Fashion, "test")
	if got := fmt.Sprint(counts(te.Labels)); got != "[1000 1000 1000 1000 1000 1000 1000 1000 1000 1000]" {
		t.Errorf("test class counts %s", got)
	}
}

func TestRealCIFAR10(t *testing.T) {
	tr := realSet(t, CIFAR10, "train")
	if tr.N() != 50000 || tr.D() != 3072 {
		t.Fatalf("CIFAR-10 train: %d × %d", tr.N(), tr.D())
	}
	// From ../shared/data/cifar10/README.md: batch 1 starts 6 9 9 4 1 1 2 7 8 3,
	// batch 5 starts 1 8 5 1 5; batch 1's class counts.
	if got := fmt.Sprint(tr.Labels[:10]); got != "[6 9 9 4 1 1 2 7 8 3]" {
		t.Errorf("batch 1 labels %s", got)
	}
	if got := fmt.Sprint(tr.Labels[40000:40005]); got != "[1 8 5 1 5]" {
		t.Errorf("batch 5 labels %s", got)
	}
	if got := fmt.Sprint(counts(tr.Labels[:10000])); got != "[1005 974 1032 1016 999 937 1030 1001 1025 981]" {
		t.Errorf("batch 1 counts %s", got)
	}
	te := realSet(t, CIFAR10, "test")
	for r := 0; r < 30; r++ {
		if te.Labels[r] != r%10 {
			t.Fatalf("test record %d has label %d, want round-robin %d", r, te.Labels[r], r%10)
		}
	}
	meta, err := readFile(Dir() + "/cifar10/batches.meta.txt")
	if err != nil || !bytes.HasPrefix(meta, []byte("airplane\nautomobile\n")) {
		t.Errorf("class names: %v", err)
	}
}

func BenchmarkLoadMNISTTrain(b *testing.B) {
	realSet(b, MNIST, "train")
	for b.Loop() {
		if _, err := Load("", MNIST, "train"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadCIFAR10Train(b *testing.B) {
	realSet(b, CIFAR10, "train")
	for b.Loop() {
		if _, err := Load("", CIFAR10, "train"); err != nil {
			b.Fatal(err)
		}
	}
}
