package network

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkContinuationSteps measures the native continuation engine of the
// network escape experiment: a 784-10-1 network on N = 2 000 random inputs,
// B = 1, the full-batch loss observed every 100 steps and after every step
// (as Fig. 3c does).
func BenchmarkContinuationSteps(b *testing.B) {
	const n, d, h = 2000, 784, 10
	r := rand.New(rand.NewPCG(1, 2))
	net := Shallow{D: d, H: h, W1: make([]float64, d*h), B1: make([]float64, h), W2: make([]float64, h)}
	for i := range net.W1 {
		net.W1[i] = 0.05 * r.NormFloat64()
	}
	for i := range net.W2 {
		net.W2[i] = 0.3 * r.NormFloat64()
	}
	x, y := make([]float32, n*d), make([]float32, n)
	for i := range x {
		if r.Float64() < 0.2 { // sparse, like MNIST pixels
			x[i] = float32(r.Float64())
		}
	}
	for i := range y {
		y[i] = float32(2*r.IntN(2) - 1)
	}
	c, err := NewContinuation(net, x, y, n, 0.01, 1)
	if err != nil {
		b.Fatal(err)
	}
	const runs, steps = 4, 5000
	for _, every := range []int64{100, 1} {
		b.Run(fmt.Sprintf("every=%d", every), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := c.Run(context.Background(), runs, 1, steps, every, func(int, int64, float64, float64) bool { return false }, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(runs*steps)*float64(b.N)/b.Elapsed().Seconds(), "run-steps/s")
		})
	}
}
