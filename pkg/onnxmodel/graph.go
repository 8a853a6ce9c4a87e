package onnxmodel

import (
	"fmt"
	"strconv"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph-building code reads best with dot import
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"

	"github.com/sgdescape/sgdescape/pkg/backend"
	"github.com/sgdescape/sgdescape/pkg/model"
)

// Arch returns the model as a model.Arch (its Net is m) for pkg/noise,
// pkg/hessian and pkg/train.
func (m *Model) Arch() model.Arch {
	return model.Arch{Name: "onnx:" + m.Path, Input: append([]int(nil), m.Input...), Outputs: m.Outputs, Net: m}
}

// Weights returns the imported weights (float32, project layout, in the
// order of Params): the point θ at which the network is measured. The
// tensors are shared; do not modify them.
func (m *Model) Weights() []*tensors.Tensor { return m.params }

// InputSize is the number of input values per sample.
func (m *Model) InputSize() int {
	n := 1
	for _, d := range m.Input {
		n *= d
	}
	return n
}

// Params lists the parameter tensors: weight [K, C] and bias [C] per layer.
func (m *Model) Params() []model.Param {
	ps := make([]model.Param, 0, 2*len(m.Layers))
	for i, l := range m.Layers {
		ps = append(ps, model.Param{Layer: i, Shape: []int{l.K, l.C}, FanIn: l.K, FanOut: l.C},
			model.Param{Layer: i, Shape: []int{l.C}, Bias: true})
	}
	return ps
}

// FloatsPerSample estimates the values one sample holds in the largest
// buffers of a per-sample gradient graph: the input, every layer's U and A
// with their gradients, and a per-sample weight gradient of the widest
// convolution (the estimate pkg/noise makes for its own networks).
func (m *Model) FloatsPerSample() int { return m.perSample }

// TapShapes gives each weighted layer's positions and weight shape, in tap order.
func (m *Model) TapShapes() []model.TapShape {
	out := make([]model.TapShape, len(m.Layers))
	for i, l := range m.Layers {
		out[i] = model.TapShape{T: l.Positions, K: l.K, C: l.C}
	}
	return out
}

// DenseOnly reports whether every layer has one position per sample.
func (m *Model) DenseOnly() bool {
	for _, l := range m.Layers {
		if l.Positions != 1 {
			return false
		}
	}
	return true
}

// Forward builds f(θ, x) for x [n, InputSize]: the segments of the ONNX
// graph between parametric layers through onnx-gomlx (in the model's
// dtype), the layers as U·W + b (in the dtype of params).
func (m *Model) Forward(params []*Node, x *Node) (f *Node, taps []model.Tap, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	err = catch(func() error {
		f, taps = m.forward(params, x)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: building the graph of %s: %s", m.Path, oneLine(err))
	}
	return f, taps, nil
}

func (m *Model) forward(params []*Node, x *Node) (*Node, []model.Tap) {
	if len(params) != 2*len(m.Layers) {
		panic(fmt.Errorf("%d parameter tensors for %d layers", len(params), len(m.Layers)))
	}
	dt := params[0].DType()
	n := x.Shape().Dimensions[0]
	given := map[string]*Node{m.inputName: ConvertDType(Reshape(x, append([]int{n}, m.Input...)...), m.segDType)}
	taps := make([]model.Tap, 0, len(m.Layers))
	for _, st := range m.steps {
		if st.layer < 0 {
			pl := st.pool
			u := ConvertDType(m.segment(x.Graph(), given, pl.in), dt)
			if u.Rank() != 4 {
				panic(fmt.Errorf("node %q (MaxPool) gets an input of shape %s; expected [N, C, H, W]", pl.node, u.Shape()))
			}
			h := TransposeAllAxes(u, 0, 2, 3, 1) // NCHW → NHWC
			d := h.Shape().Dimensions
			if _, _, err := pl.win.OutSize(d[1], d[2]); err != nil {
				panic(fmt.Errorf("node %q (MaxPool): %v", pl.node, err))
			}
			given[pl.out] = ConvertDType(TransposeAllAxes(model.MaxPoolWindow(h, pl.win), 0, 3, 1, 2), m.segDType)
			continue
		}
		i, l := st.layer, m.Layers[st.layer]
		u := ConvertDType(m.segment(x.Graph(), given, l.in), dt)
		w, b := params[2*i], params[2*i+1]
		var U, out *Node
		switch l.Op {
		case OpConv:
			if u.Rank() != 4 {
				panic(fmt.Errorf("node %q (Conv) gets an input of shape %s; expected [N, C, H, W]", l.Node, u.Shape()))
			}
			h := TransposeAllAxes(u, 0, 2, 3, 1) // NCHW → NHWC
			d := h.Shape().Dimensions
			ho, wo, err := l.win.OutSize(d[1], d[2])
			if err != nil {
				panic(fmt.Errorf("node %q (Conv): %v", l.Node, err))
			}
			if d[3]*l.win.KH*l.win.KW != l.K {
				panic(fmt.Errorf("node %q (Conv) gets %d channels; its kernel takes %d", l.Node, d[3], l.K/(l.win.KH*l.win.KW)))
			}
			U = Reshape(model.PatchesMasked(h, l.win), n, ho*wo, l.K)
			A := Add(DotGeneral(U, []int{2}, nil, w, []int{0}, nil), Reshape(b, 1, 1, l.C))
			taps = append(taps, model.Tap{U: U, A: A})
			out = TransposeAllAxes(Reshape(A, n, ho, wo, l.C), 0, 3, 1, 2)
		default:
			d := u.Shape().Dimensions
			if len(d) < 2 || d[len(d)-1] != l.K || d[0] != n || (l.Op == OpGemm && len(d) != 2) {
				panic(fmt.Errorf("node %q (%s) gets an input of shape %s; its weight takes %d features per sample", l.Node, l.Op, u.Shape(), l.K))
			}
			pos := 1
			for _, v := range d[1 : len(d)-1] {
				pos *= v
			}
			U = Reshape(u, n, pos, l.K)
			A := Add(DotGeneral(U, []int{2}, nil, w, []int{0}, nil), Reshape(b, 1, 1, l.C))
			taps = append(taps, model.Tap{U: U, A: A})
			od := append(append([]int(nil), d[:len(d)-1]...), l.C)
			out = Reshape(A, od...)
		}
		given[l.out] = ConvertDType(out, m.segDType)
	}
	f := m.segment(x.Graph(), given, m.outputName)
	if f.Rank() < 1 || f.Shape().Dimensions[0] != n || (m.Outputs > 0 && f.Shape().Size() != n*m.Outputs) {
		panic(fmt.Errorf("the output %q has shape %s for %d samples; export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}))", m.outputName, f.Shape(), n))
	}
	return ConvertDType(Reshape(f, n, -1), dt), taps
}

// segment converts the part of the ONNX graph that computes target from
// the values in given (the data input and the outputs of the layers
// computed so far): every graph input and initializer onnx-gomlx could
// visit is handed to it, as a node or a constant; the layers' weights and
// pending outputs are scalar placeholders that the segment never reaches.
func (m *Model) segment(g *Graph, given map[string]*Node, target string) *Node {
	names := m.graph.InputsNames
	inputs := map[string]*Node{}
	consts := map[string]any{}
	for i, name := range names {
		var sh shapes.Shape
		if v, ok := given[name]; ok {
			inputs[name] = v
			sh = v.Shape()
		} else if t, ok := m.consts[name]; ok {
			consts[name] = t
			sh = t.Shape()
		} else {
			t := tensors.FromShape(shapes.Make(m.segDType))
			consts[name] = t
			sh = t.Shape()
		}
		m.graph.InputsShapes[i] = staticShape(sh)
	}
	m.graph.WithInputsAsConstants(consts)
	out := m.graph.CallGraph(emptyCtx(), g, inputs, target)
	return out[0]
}

// emptyCtx is the context CallGraph insists on when the file has
// initializers; every initializer reaches the graph through segment.
func emptyCtx() *context.Context { return context.New() }

// staticShape is a fully static DynamicShape.
func staticShape(sh shapes.Shape) onnx.DynamicShape {
	ds := onnx.DynamicShape{DType: sh.DType, Dimensions: append([]int(nil), sh.Dimensions...)}
	ds.Names = make([]string, len(sh.Dimensions))
	for i, d := range sh.Dimensions {
		ds.Names[i] = strconv.Itoa(d)
	}
	return ds
}

// prepare lists the layers' outputs and the constant initializers among
// the graph's inputs, so that CallGraph takes them from segment.
func (m *Model) prepare() {
	have := map[string]bool{}
	for _, n := range m.graph.InputsNames {
		have[n] = true
	}
	add := func(name string) {
		if !have[name] {
			have[name] = true
			m.graph.InputsNames = append(m.graph.InputsNames, name)
			m.graph.InputsShapes = append(m.graph.InputsShapes, onnx.DynamicShape{DType: m.segDType})
		}
	}
	for _, l := range m.Layers {
		add(l.out)
	}
	for _, st := range m.steps {
		if st.layer < 0 {
			add(st.pool.out)
		}
	}
	for _, t := range m.graph.Proto.Graph.Initializer {
		if _, ok := m.consts[t.Name]; ok {
			add(t.Name)
		}
	}
}

// trial builds the forward graph for 1 and 3 samples on SimpleGo (without
// running it): it finds the number of outputs and each layer's positions,
// and turns what would fail later — an operator onnx-gomlx lacks, a batch
// size fixed in the graph, shapes that do not fit — into an error now.
func (m *Model) trial() error {
	m.prepare()
	be, err := backend.SimpleGo()
	if err != nil {
		return err
	}
	g := m.graph.Proto.Graph
	m.Outputs = 0
	for _, n := range []int{1, 3} {
		gr := NewGraph(be, "onnx-trial")
		ps := make([]*Node, 0, 2*len(m.Layers))
		for i, p := range m.Params() {
			ps = append(ps, Parameter(gr, fmt.Sprintf("p%d", i), shapes.Make(dtypes.Float32, p.Shape...)))
		}
		x := Parameter(gr, "x", shapes.Make(dtypes.Float32, n, m.InputSize()))
		var f *Node
		var taps []model.Tap
		err := catch(func() error {
			f, taps = m.forward(ps, x)
			return nil
		})
		if err != nil {
			if op := unimplemented.FindStringSubmatch(err.Error()); op != nil {
				for _, nd := range g.Node {
					if nd.OpType == op[1] {
						return fmt.Errorf("operator %s (node %q) is not supported by onnx-gomlx v0.3.4; export the model without it or replace it", op[1], nodeName(nd.Name, nd.Output))
					}
				}
				return fmt.Errorf("operator %s is not supported by onnx-gomlx v0.3.4", op[1])
			}
			if a := unsupportedAttr.FindStringSubmatch(err.Error()); a != nil {
				for _, nd := range g.Node {
					if nd.OpType == a[1] {
						return fmt.Errorf("operator %s (node %q) with its attribute %s is not supported by onnx-gomlx v0.3.4: %s", a[1], nodeName(nd.Name, nd.Output), a[2], oneLine(err))
					}
				}
			}
			return fmt.Errorf("the graph cannot be built for %d samples: %s", n, oneLine(err))
		}
		k := f.Shape().Dimensions[1]
		if n == 1 {
			m.Outputs = k
		} else if k != m.Outputs {
			return fmt.Errorf("the graph gives %d outputs per sample for one sample and %d for three: the batch size is fixed in the graph; export with dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}", m.Outputs, k)
		}
		per, widest := m.InputSize(), 0
		for i, t := range taps {
			pos := t.U.Shape().Dimensions[1]
			m.Layers[i].Positions = pos
			per += 4 * pos * (m.Layers[i].K + m.Layers[i].C)
			if pos > 1 {
				widest = max(widest, m.Layers[i].K*m.Layers[i].C)
			}
		}
		m.perSample = per + 2*widest
	}
	if m.Outputs < 1 {
		return fmt.Errorf("the graph's output %q is empty", m.outputName)
	}
	return nil
}
