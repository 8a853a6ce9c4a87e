package run

// Find returns the first element of xs that match accepts, and false when
// none does: how a result looks up its entry for a key (a β, a seed).
func Find[T any](xs []T, match func(T) bool) (T, bool) {
	for _, x := range xs {
		if match(x) {
			return x, true
		}
	}
	var zero T
	return zero, false
}
