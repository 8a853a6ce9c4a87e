package param

import (
	"reflect"
	"testing"
)

// composite replaces its base's scalar B by a list Bs.
type composite struct {
	Base cfg
	Bs   []int
}

func (c *composite) Declare(s *Set) {
	c.Base.Declare(s)
	s.Hide("B")
	s.Ints(&c.Bs, "Bs", "batch sizes", Min(1))
}

func TestHide(t *testing.T) {
	c := composite{Bs: []int{1, 2}}
	s := Declare(&c)
	if _, ok := s.Lookup("B"); ok {
		t.Error("B is still declared")
	}
	if p, ok := s.Lookup("Bs"); !ok || p.Set("3,4") != nil || !reflect.DeepEqual(c.Bs, []int{3, 4}) {
		t.Errorf("Bs: %v", c.Bs)
	}
	if _, ok := s.Lookup("eta"); !ok || len(s.Params()) == 0 {
		t.Error("Hide removed more than B")
	}
	// A prefixed hide removes the prefixed name.
	var outer struct{ c composite }
	s2 := &Set{}
	s2.Prefixed("x-", declFunc(func(s *Set) { outer.c.Base.Declare(s); s.Hide("B") }))
	if _, ok := s2.Lookup("x-B"); ok {
		t.Error("x-B is still declared")
	}
	if _, ok := s2.Lookup("x-eta"); !ok {
		t.Error("x-eta is gone")
	}
	defer func() {
		if recover() == nil {
			t.Error("hiding an undeclared name did not panic")
		}
	}()
	s.Hide("nosuch")
}

type declFunc func(*Set)

func (f declFunc) Declare(s *Set) { f(s) }
