package run

import "testing"

func TestFind(t *testing.T) {
	xs := []int{3, 5, 8, 5}
	for _, tc := range []struct {
		want  int
		found bool
		match func(int) bool
	}{
		{5, true, func(x int) bool { return x == 5 }},
		{8, true, func(x int) bool { return x%2 == 0 }},
		{0, false, func(x int) bool { return x > 100 }},
	} {
		got, ok := Find(xs, tc.match)
		if got != tc.want || ok != tc.found {
			t.Errorf("Find = %d, %v; want %d, %v", got, ok, tc.want, tc.found)
		}
	}
	if _, ok := Find[int](nil, func(int) bool { return true }); ok {
		t.Error("Find on an empty list found something")
	}
}
