package backend

import (
	"reflect"
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import, as in GoMLX itself
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// StockDotGeneralVJP and StockDotVJP are GoMLX's own gradients, kept so that
// tests can compare them with the replacements.
var (
	StockDotGeneralVJP = VJPRegistration[NodeTypeDotGeneral]
	StockDotVJP        = VJPRegistration[NodeTypeDot]
)

func init() {
	VJPRegistration[NodeTypeDotGeneral] = dotGeneralVJP
	VJPRegistration[NodeTypeDot] = dotVJP
}

// dotGeneralAxes reads the contracting and batch axes of a DotGeneral node.
// GoMLX keeps them in an unexported struct; reflect may read (not write)
// unexported fields. ok is false if the layout is not the expected one, in
// which case the caller falls back to the stock gradient.
func dotGeneralAxes(node *Node) (lc, lb, rc, rb []int, ok bool) {
	v := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !v.IsValid() || v.IsNil() {
		return
	}
	in := v.Elem()
	if in.Kind() == reflect.Pointer {
		in = in.Elem()
	}
	if in.Kind() != reflect.Struct {
		return
	}
	read := func(name string) ([]int, bool) {
		f := in.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice {
			return nil, false
		}
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out, true
	}
	var ok1, ok2, ok3, ok4 bool
	lc, ok1 = read("lhsContractingAxes")
	lb, ok2 = read("lhsBatchAxes")
	rc, ok3 = read("rhsContractingAxes")
	rb, ok4 = read("rhsBatchAxes")
	ok = ok1 && ok2 && ok3 && ok4
	return
}

// crossAxes lists the axes of a rank-r operand that are neither contracted nor batch, in order.
func crossAxes(rank int, contracting, batch []int) []int {
	var out []int
	for a := range rank {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

// dotGeneralVJP computes the adjoints of both DotGeneral operands with two
// DotGeneral products and a transpose each. The output of DotGeneral has axes
// [batch…, lhs cross…, rhs cross…]. The adjoint of lhs contracts v's rhs-cross
// axes with rhs's cross axes (batch axes aligned), giving
// [batch…, lhs cross…, rhs contracting (sorted)…], which is then permuted back
// into lhs's layout; symmetrically for rhs.
func dotGeneralVJP(node *Node, vjps []*Node, outShape shapes.Shape) []*Node {
	lc, lb, rc, rb, ok := dotGeneralAxes(node)
	if !ok {
		return StockDotGeneralVJP(node, vjps, outShape)
	}
	v := vjps[0]
	lhs, rhs := node.Inputs()[0], node.Inputs()[1]
	lx := crossAxes(lhs.Rank(), lc, lb)
	rx := crossAxes(rhs.Rank(), rc, rb)
	nb := len(lb)
	vBatch := make([]int, nb)
	for i := range vBatch {
		vBatch[i] = i
	}
	vLhsCross := make([]int, len(lx))
	for i := range vLhsCross {
		vLhsCross[i] = nb + i
	}
	vRhsCross := make([]int, len(rx))
	for i := range vRhsCross {
		vRhsCross[i] = nb + len(lx) + i
	}
	grad := func(this *Node, thisC, thisB, thisX []int, vOther []int, other *Node, otherC, otherB, otherX []int) *Node {
		// g axes: [batch…, this cross…, other's contracting axes in increasing order…].
		g := DotGeneral(v, vOther, vBatch, other, otherX, otherB)
		sortedOtherC := slices.Clone(otherC)
		slices.Sort(sortedOtherC)
		perm := make([]int, this.Rank()) // perm[thisAxis] = axis of g
		for i, a := range thisB {
			perm[a] = i
		}
		for i, a := range thisX {
			perm[a] = nb + i
		}
		for k, a := range thisC {
			perm[a] = nb + len(thisX) + slices.Index(sortedOtherC, otherC[k])
		}
		identity := true
		for i, p := range perm {
			if i != p {
				identity = false
			}
		}
		if identity {
			return g
		}
		return TransposeAllAxes(g, perm...)
	}
	return []*Node{
		grad(lhs, lc, lb, lx, vRhsCross, rhs, rc, rb, rx),
		grad(rhs, rc, rb, rx, vLhsCross, lhs, lc, lb, lx),
	}
}

// dotVJP handles the legacy Dot node (vector·vector, matrix·vector,
// matrix·matrix) with the same products.
func dotVJP(node *Node, vjps []*Node, outShape shapes.Shape) []*Node {
	v := vjps[0]
	a, b := node.Inputs()[0], node.Inputs()[1]
	switch {
	case a.Rank() == 1 && b.Rank() == 1:
		return []*Node{Mul(v, b), Mul(v, a)}
	case a.Rank() == 2 && b.Rank() == 1:
		// out[i] = Σ_j a[i,j] b[j]; da[i,j] = v[i] b[j]; db[j] = Σ_i v[i] a[i,j].
		return []*Node{
			Mul(InsertAxes(v, -1), InsertAxes(b, 0)),
			DotGeneral(v, []int{0}, nil, a, []int{0}, nil),
		}
	case a.Rank() == 2 && b.Rank() == 2:
		return []*Node{
			DotGeneral(v, []int{1}, nil, b, []int{1}, nil), // v·bᵀ
			DotGeneral(a, []int{0}, nil, v, []int{0}, nil), // aᵀ·v
		}
	}
	return StockDotVJP(node, vjps, outShape)
}
