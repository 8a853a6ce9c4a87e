package param

import "fmt"

// Hide removes the parameters called names from s. A composite
// configuration uses it when one of its own parameters replaces one of its
// base configuration's: a list Ps of numbers of parameters instead of the
// base's P, which the composite sets for each item and would otherwise
// ignore. Hiding a name that is not declared is a programming error
// (a panic, caught by the registry's test).
func (s *Set) Hide(names ...string) {
	for _, name := range names {
		i := -1
		for j, p := range s.params {
			if p.Name == s.prefix+name {
				i = j
			}
		}
		if i < 0 {
			panic(fmt.Sprintf("param: Hide(%q): no such parameter", name))
		}
		s.params = append(s.params[:i], s.params[i+1:]...)
	}
}
