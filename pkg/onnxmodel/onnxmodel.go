// Package onnxmodel imports a trained network from an ONNX file (for
// example a PyTorch model exported with torch.onnx.export) as a model.Arch
// whose parameters are the file's weights, so that every measurement of the
// project (pkg/noise, pkg/hessian, pkg/spectrum, pkg/train) runs on it
// unchanged.
//
// The graph is converted by github.com/gomlx/onnx-gomlx, except for its
// parametric nodes — Gemm, MatMul followed by the Add of a bias, and 2-D
// Conv, each with a weight and a bias among the file's initializers — which
// the adapter computes itself as A = U·W + b (U the node's input, for a
// convolution its im2col patches from model.PatchesMasked). That is the form
// model.Tap describes: per-sample gradients come from U and ∂L/∂A without a
// backward pass per sample, and the graph is differentiable twice on every
// backend (GoMLX's own convolution is not), so Hessian-vector products work
// for convolutional networks too. MaxPool nodes are computed by the adapter
// too (model.MaxPoolWindow), for the same reason. The segments in between
// run in the model's own dtype (float32), the adapter's nodes in the dtype
// of the parameters given (float64 in Hessian-vector products).
//
// Weights are held in the project's layout, W [k, c] with rows ordered as
// U's columns: a Gemm weight [c, k] (transB = 1, PyTorch's Linear) is
// transposed, a Conv kernel [c, C, kh, kw] becomes [kh·kw·C, c].
package onnxmodel

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sgdescape/sgdescape/pkg/memcheck"
	"github.com/sgdescape/sgdescape/pkg/model"
)

// Parametric node kinds.
const (
	OpGemm   = "Gemm"
	OpMatMul = "MatMul+Add"
	OpConv   = "Conv"
)

// Layer is one parametric node of the imported graph.
type Layer struct {
	Node   string `json:"node"`   // the ONNX node's name (its first output when unnamed)
	Op     string `json:"op"`     // OpGemm, OpMatMul or OpConv
	Weight string `json:"weight"` // initializer names
	Bias   string `json:"bias"`
	K      int    `json:"k"` // weight rows: inputs per position (kh·kw·C for a convolution)
	C      int    `json:"c"` // weight columns: outputs per position
	// Positions is the number of positions per sample sharing the weight
	// (1 for a dense layer, Ho·Wo for a convolution).
	Positions int `json:"positions"`

	in, out   string // ONNX value names of the node's data input and of the layer's output
	transB    bool
	win       model.Window
	onnxShape []int // the ONNX weight shape
}

// step is one node the adapter computes: a layer or a max pooling.
type step struct {
	layer int // index in Layers, or −1 for pool
	pool  pool
}

// pool is a MaxPool node.
type pool struct {
	node, in, out string
	win           model.Window
}

// Model is an imported ONNX network.
type Model struct {
	Path    string  `json:"path"`
	Input   []int   `json:"input"`   // per-sample input shape, as in the graph (channels first for images)
	Outputs int     `json:"outputs"` // K
	Layers  []Layer `json:"layers"`
	P       int     `json:"P"` // trainable parameters
	// LastOp is the operator that produces the graph's output.
	LastOp string `json:"last_op"`
	// Pools names the MaxPool nodes the adapter computes itself
	// (model.MaxPoolWindow: GoMLX's max pooling has no second derivative).
	Pools []string `json:"pools"`

	steps                 []step // layers and pools, in the graph's (topological) order
	inputName, outputName string
	params                []*tensors.Tensor // float32, project layout
	graph                 *onnx.Model
	consts                map[string]*tensors.Tensor // the other initializers, fed as constants
	segDType              dtypes.DType
	perSample             int
	mu                    sync.Mutex
}

// maxFileBytes is refused outright (a protobuf message cannot exceed 2 GiB).
const maxFileBytes = 2 << 30

// Load reads an ONNX file. sample, when not nil, is the per-sample shape of
// the data the model will see: it fixes dimensions the graph leaves dynamic
// and must otherwise match the graph's input (a flat row of the same number
// of values is accepted too, as from a CSV file). Every failure is a
// one-line error that names the file and what to change.
func Load(path string, sample []int) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: cannot read the model: %v", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("onnx: %s is a directory, not an ONNX file", path)
	}
	if st.Size() > maxFileBytes {
		return nil, fmt.Errorf("onnx: %s has %s; ONNX files over 2 GiB keep their weights as external data, which is not supported", path, memcheck.Format(float64(st.Size())))
	}
	// The file, its parsed form and the weights as tensors: about 3× the file.
	if err := memcheck.Check(3*float64(st.Size()), "onnx: reading "+path, "the model's size"); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: cannot read the model: %v", err)
	}
	if err := looksLikeONNX(raw); err != nil {
		return nil, fmt.Errorf("onnx: %s is not an ONNX model (%v); export one with torch.onnx.export(model, example, %q, dynamo=False)", path, err, path)
	}
	var om *onnx.Model
	if err := catch(func() error {
		var e error
		om, e = onnx.Parse(raw)
		return e
	}); err != nil {
		return nil, fmt.Errorf("onnx: %s is not a valid ONNX model: %s", path, oneLine(err))
	}
	m := &Model{Path: path, graph: om, consts: map[string]*tensors.Tensor{}, Pools: []string{}}
	if err := m.inspect(sample); err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	if err := m.trial(); err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return m, nil
}

// looksLikeONNX checks the top-level protobuf structure of a ModelProto
// (field 1 ir_version, a varint; field 7 the graph, a message) before the
// parser sees the bytes: arbitrary bytes often decode as some protobuf.
func looksLikeONNX(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("the file is empty")
	}
	hasIR, hasGraph := false, false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("not a protobuf message")
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("not a protobuf message")
		}
		switch {
		case num == 1 && typ == protowire.VarintType:
			hasIR = true
		case num == 7 && typ == protowire.BytesType:
			hasGraph = true
		case num == 1 || num == 7:
			return fmt.Errorf("not a protobuf ModelProto")
		}
		b = b[m:]
	}
	if !hasIR || !hasGraph {
		return fmt.Errorf("no IR version or no graph")
	}
	return nil
}

// catch runs fn, turning a panic (GoMLX and onnx-gomlx report errors by
// panicking while a graph is built) into an error.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	return fn()
}

// oneLine keeps the first line of an error message (stack traces and
// wrapped causes of onnx-gomlx's errors follow on later lines).
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

var (
	unimplemented   = regexp.MustCompile(`unimplemented ONNX op "([^"]*)"`)
	unsupportedAttr = regexp.MustCompile(`(?:^|: )([A-Za-z]+): support for (?:attribute|inferring) '([^']*)'`)
)

// isFloat reports whether an ONNX element type is a floating-point one.
func isFloat(dt dtypes.DType) bool { return dt == dtypes.Float32 || dt == dtypes.Float64 }

// nodeName names a node for messages.
func nodeName(name string, outputs []string) string {
	if name != "" {
		return name
	}
	if len(outputs) > 0 {
		return outputs[0]
	}
	return "(unnamed)"
}

// inspect finds the data input, the output, the parametric layers and
// their weights, and checks everything the adapter relies on.
func (m *Model) inspect(sample []int) error {
	g := m.graph.Proto.Graph
	if len(m.graph.Proto.Functions) > 0 {
		return fmt.Errorf("the model defines ONNX functions, which are not supported; export with torch.onnx.export(..., dynamo=False)")
	}
	if len(g.SparseInitializer) > 0 {
		return fmt.Errorf("the model has sparse initializers, which are not supported")
	}
	inits := map[string]int{}
	for i, t := range g.Initializer {
		inits[t.Name] = i
	}
	// Sizes first: nothing is converted before the memory check.
	var bytesAll float64
	for _, t := range g.Initializer {
		sh, err := onnx.Shape(t)
		if err != nil {
			return fmt.Errorf("initializer %q: %s", t.Name, oneLine(err))
		}
		bytesAll += float64(sh.Size()) * float64(max(sh.DType.Size(), 1))
	}
	// Project-layout float32 copies, float64 copies for Hessian-vector
	// products, and the Lanczos vectors come later; here the tensors twice.
	if err := memcheck.Check(2*bytesAll, "onnx: the model's weights", "the model's size"); err != nil {
		return err
	}
	// The data input: the one graph input that is not an initializer.
	var dataInputs []string
	for _, name := range m.graph.InputsNames {
		if _, ok := inits[name]; !ok {
			dataInputs = append(dataInputs, name)
		}
	}
	if len(dataInputs) != 1 {
		return fmt.Errorf("the graph has %d data inputs %q; only networks with one input are supported", len(dataInputs), dataInputs)
	}
	m.inputName = dataInputs[0]
	if len(m.graph.OutputsNames) < 1 {
		return fmt.Errorf("the graph has no output")
	}
	if len(m.graph.OutputsNames) > 1 {
		return fmt.Errorf("the graph has %d outputs %q; only networks with one output are supported", len(m.graph.OutputsNames), m.graph.OutputsNames)
	}
	m.outputName = m.graph.OutputsNames[0]
	var ds onnx.DynamicShape
	for i, name := range m.graph.InputsNames {
		if name == m.inputName {
			ds = m.graph.InputsShapes[i]
		}
	}
	if !isFloat(ds.DType) {
		return fmt.Errorf("the input %q has dtype %s; a floating-point input is needed", m.inputName, ds.DType)
	}
	m.segDType = ds.DType
	if ds.Rank() < 2 {
		return fmt.Errorf("the input %q has shape %s; expected a batch axis first, then the sample's axes", m.inputName, ds)
	}
	declared := ds.Dimensions[1:]
	if err := m.setInput(declared, sample); err != nil {
		return err
	}

	// PyTorch writes AvgPool2d's count_include_pad = 1 (its default), which
	// onnx-gomlx refuses; without padding it changes nothing, so it is
	// cleared.
	for _, nd := range g.Node {
		switch nd.OpType {
		case "AveragePool":
			padded := false
			for _, v := range intsAttr(nd.Attribute, "pads") {
				padded = padded || v != 0
			}
			for _, a := range nd.Attribute {
				if a.Name == "count_include_pad" && !padded {
					a.I = 0
				}
			}
		}
	}

	// Consumers of every value.
	consumers := map[string][]int{}
	for i, nd := range g.Node {
		for _, in := range nd.Input {
			consumers[in] = append(consumers[in], i)
		}
	}
	for _, nd := range g.Node {
		for _, o := range nd.Output {
			if o == m.outputName {
				m.LastOp = nd.OpType
			}
		}
	}
	floatInit := func(name string) (shapes.Shape, bool) {
		i, ok := inits[name]
		if !ok {
			return shapes.Shape{}, false
		}
		sh, err := onnx.Shape(g.Initializer[i])
		return sh, err == nil && isFloat(sh.DType)
	}
	used := map[string]string{} // initializer → the layer that owns it
	owned := map[int]bool{}     // node indices folded into a layer (the bias Add of MatMul+Add)
	for i, nd := range g.Node {
		if owned[i] {
			continue
		}
		name := nodeName(nd.Name, nd.Output)
		var l Layer
		switch nd.OpType {
		case "Gemm", "MatMul", "Conv":
		case "MaxPool":
			pl, err := maxPool(nd.Attribute, name)
			if err != nil {
				return err
			}
			if len(nd.Input) != 1 || len(nd.Output) != 1 {
				return fmt.Errorf("node %q (MaxPool) has %d outputs; only the pooled values are supported (no indices)", name, len(nd.Output))
			}
			pl.node, pl.in, pl.out = name, nd.Input[0], nd.Output[0]
			m.steps = append(m.steps, step{layer: -1, pool: pl})
			m.Pools = append(m.Pools, name)
			continue
		default:
			continue
		}
		if len(nd.Input) < 2 {
			continue
		}
		wsh, ok := floatInit(nd.Input[1])
		if !ok {
			continue // a product of two activations: no weight of its own
		}
		l = Layer{Node: name, Weight: nd.Input[1], in: nd.Input[0], out: nd.Output[0], onnxShape: wsh.Dimensions}
		switch nd.OpType {
		case "Gemm":
			l.Op = OpGemm
			attrs := intAttrs(nd.Attribute)
			if attrs["transA"] != 0 {
				return fmt.Errorf("node %q (Gemm) has transA = 1, which is not supported", name)
			}
			if a, ok := floatAttr(nd.Attribute, "alpha"); ok && a != 1 {
				return fmt.Errorf("node %q (Gemm) has alpha = %v; only alpha = 1 is supported", name, a)
			}
			if b, ok := floatAttr(nd.Attribute, "beta"); ok && b != 1 {
				return fmt.Errorf("node %q (Gemm) has beta = %v; only beta = 1 is supported", name, b)
			}
			if wsh.Rank() != 2 {
				return fmt.Errorf("node %q (Gemm) has a weight of shape %v", name, wsh.Dimensions)
			}
			l.transB = attrs["transB"] != 0
			l.K, l.C = wsh.Dimensions[0], wsh.Dimensions[1]
			if l.transB {
				l.K, l.C = l.C, l.K
			}
			if len(nd.Input) < 3 || nd.Input[2] == "" {
				return noBias(name, "Gemm")
			}
			bsh, ok := floatInit(nd.Input[2])
			if !ok || bsh.Size() != l.C || (bsh.Rank() != 1 && !(bsh.Rank() == 2 && bsh.Dimensions[0] == 1)) {
				return fmt.Errorf("node %q (Gemm) has a bias %q that is not a weight vector of %d values", name, nd.Input[2], l.C)
			}
			l.Bias = nd.Input[2]
			l.Positions = 1
		case "MatMul":
			l.Op = OpMatMul
			if wsh.Rank() != 2 {
				return fmt.Errorf("node %q (MatMul) has a weight of shape %v; only 2-D weights are supported", name, wsh.Dimensions)
			}
			l.K, l.C = wsh.Dimensions[0], wsh.Dimensions[1]
			cs := consumers[nd.Output[0]]
			if len(cs) != 1 || g.Node[cs[0]].OpType != "Add" {
				return noBias(name, "MatMul")
			}
			add := g.Node[cs[0]]
			other := add.Input[0]
			if other == nd.Output[0] {
				other = add.Input[1]
			}
			bsh, ok := floatInit(other)
			if !ok || bsh.Rank() != 1 || bsh.Size() != l.C {
				return noBias(name, "MatMul")
			}
			l.Bias, l.out = other, add.Output[0]
			owned[cs[0]] = true
		case "Conv":
			l.Op = OpConv
			if wsh.Rank() != 4 {
				return fmt.Errorf("node %q (Conv) has a %d-D kernel; only 2-D convolutions are supported", name, wsh.Rank()-2)
			}
			attrs := intAttrs(nd.Attribute)
			if attrs["group"] > 1 {
				return fmt.Errorf("node %q (Conv) has group = %d; grouped convolutions are not supported", name, attrs["group"])
			}
			if s := stringAttr(nd.Attribute, "auto_pad"); s != "" && s != "NOTSET" {
				return fmt.Errorf("node %q (Conv) has auto_pad = %s; export with explicit padding", name, s)
			}
			kh, kw := wsh.Dimensions[2], wsh.Dimensions[3]
			l.win = model.Window{KH: kh, KW: kw, SH: 1, SW: 1, DH: 1, DW: 1}
			if s := intsAttr(nd.Attribute, "strides"); len(s) == 2 {
				l.win.SH, l.win.SW = s[0], s[1]
			}
			if d := intsAttr(nd.Attribute, "dilations"); len(d) == 2 {
				l.win.DH, l.win.DW = d[0], d[1]
			}
			if p := intsAttr(nd.Attribute, "pads"); len(p) == 4 {
				l.win.PadTop, l.win.PadLeft, l.win.PadBottom, l.win.PadRight = p[0], p[1], p[2], p[3]
			}
			if k := intsAttr(nd.Attribute, "kernel_shape"); len(k) == 2 && (k[0] != kh || k[1] != kw) {
				return fmt.Errorf("node %q (Conv) has kernel_shape %v but a %d×%d kernel", name, k, kh, kw)
			}
			l.K, l.C = kh*kw*wsh.Dimensions[1], wsh.Dimensions[0]
			if len(nd.Input) < 3 || nd.Input[2] == "" {
				return noBias(name, "Conv")
			}
			bsh, ok := floatInit(nd.Input[2])
			if !ok || bsh.Rank() != 1 || bsh.Size() != l.C {
				return noBias(name, "Conv")
			}
			l.Bias = nd.Input[2]
		}
		for _, w := range []string{l.Weight, l.Bias} {
			if other, ok := used[w]; ok {
				return fmt.Errorf("the initializer %q is shared by nodes %q and %q; shared weights are not supported", w, other, name)
			}
			used[w] = name
		}
		m.steps = append(m.steps, step{layer: len(m.Layers)})
		m.Layers = append(m.Layers, l)
	}
	if len(m.Layers) == 0 {
		return fmt.Errorf("the network has no trainable weights (no Gemm, MatMul+Add or Conv node takes its weight from the file's initializers); there is nothing to diagnose")
	}
	// Every other floating-point initializer with more than one value
	// would be a trainable tensor the adapter cannot measure.
	for _, t := range g.Initializer {
		if _, ok := used[t.Name]; ok {
			continue
		}
		sh, _ := onnx.Shape(t)
		if isFloat(sh.DType) && sh.Size() > 1 {
			by := "no node"
			if cs := consumers[t.Name]; len(cs) > 0 {
				nd := g.Node[cs[0]]
				by = fmt.Sprintf("node %q (%s)", nodeName(nd.Name, nd.Output), nd.OpType)
			}
			return fmt.Errorf("the weight %q %v feeds %s, which is not the weight or bias of a Gemm, MatMul+Add or Conv node; only those can be measured (a BatchNormalization is folded into the convolution when exported in eval mode)", t.Name, sh.Dimensions, by)
		}
	}
	// Tensors: the layers' weights in project layout, the rest as constants.
	ctx := context.New()
	if err := catch(func() error { return m.graph.VariablesToContext(ctx) }); err != nil {
		return fmt.Errorf("reading the weights: %s", oneLine(err))
	}
	vars := ctx.In(onnx.ModelScope)
	value := func(name string) (*tensors.Tensor, error) {
		v := vars.GetVariable(onnx.SafeVarName(name))
		if v == nil {
			return nil, fmt.Errorf("initializer %q was not read", name)
		}
		return v.Value()
	}
	for _, t := range g.Initializer {
		if _, ok := used[t.Name]; ok {
			continue
		}
		v, err := value(t.Name)
		if err != nil {
			return err
		}
		m.consts[t.Name] = v
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		w, err := value(l.Weight)
		if err != nil {
			return err
		}
		b, err := value(l.Bias)
		if err != nil {
			return err
		}
		wp, err := l.toProject(w)
		if err != nil {
			return err
		}
		bf, err := floats32(b)
		if err != nil {
			return fmt.Errorf("bias %q: %v", l.Bias, err)
		}
		m.params = append(m.params, wp, tensors.FromFlatDataAndDimensions(bf, l.C))
		m.P += l.K*l.C + l.C
	}
	runtime.KeepAlive(ctx)
	return nil
}

// maxPool reads a MaxPool node's window (2-D, floor mode, any padding,
// strides and dilations).
func maxPool[A attr](as []A, name string) (pool, error) {
	k := intsAttr(as, "kernel_shape")
	if len(k) != 2 {
		return pool{}, fmt.Errorf("node %q (MaxPool) has kernel_shape %v; only 2-D pooling is supported", name, k)
	}
	if intAttrs(as)["ceil_mode"] != 0 || intAttrs(as)["storage_order"] != 0 {
		return pool{}, fmt.Errorf("node %q (MaxPool) uses ceil_mode or storage_order, which are not supported; export with ceil_mode=False", name)
	}
	if s := stringAttr(as, "auto_pad"); s != "" && s != "NOTSET" {
		return pool{}, fmt.Errorf("node %q (MaxPool) has auto_pad = %s; export with explicit padding", name, s)
	}
	w := model.Window{KH: k[0], KW: k[1], SH: 1, SW: 1, DH: 1, DW: 1}
	if s := intsAttr(as, "strides"); len(s) == 2 {
		w.SH, w.SW = s[0], s[1]
	}
	if d := intsAttr(as, "dilations"); len(d) == 2 {
		w.DH, w.DW = d[0], d[1]
	}
	if p := intsAttr(as, "pads"); len(p) == 4 {
		w.PadTop, w.PadLeft, w.PadBottom, w.PadRight = p[0], p[1], p[2], p[3]
	}
	return pool{win: w}, nil
}

func noBias(node, op string) error {
	return fmt.Errorf("node %q (%s) has no bias; layers without a bias are not supported (create them with bias=True)", node, op)
}

// setInput fixes the per-sample input shape from the graph's declaration
// and the data's shape.
func (m *Model) setInput(declared, sample []int) error {
	dyn := false
	for _, d := range declared {
		dyn = dyn || d <= 0
	}
	desc := func(ds []int) string {
		parts := make([]string, len(ds))
		for i, d := range ds {
			if d <= 0 {
				parts[i] = "?"
			} else {
				parts[i] = strconv.Itoa(d)
			}
		}
		return "[N, " + strings.Join(parts, ", ") + "]"
	}
	if sample == nil {
		if dyn {
			return fmt.Errorf("the input %q has shape %s with a dynamic sample axis; give data to fix it", m.inputName, desc(declared))
		}
		m.Input = append([]int(nil), declared...)
		return nil
	}
	prod := func(ds []int) int {
		p := 1
		for _, d := range ds {
			p *= d
		}
		return p
	}
	if len(sample) == len(declared) {
		ok := true
		for i, d := range declared {
			ok = ok && (d <= 0 || d == sample[i])
		}
		if ok {
			m.Input = append([]int(nil), sample...)
			return nil
		}
	}
	if len(sample) == 1 && !dyn && prod(declared) == sample[0] {
		m.Input = append([]int(nil), declared...) // flat rows of the right size
		return nil
	}
	return fmt.Errorf("the data's samples have shape %v but the model's input %q takes %s; reshape the data (flat rows of %s values are accepted too)",
		sample, m.inputName, desc(declared), func() string {
			if dyn {
				return "the same number of"
			}
			return strconv.Itoa(prod(declared))
		}())
}

// toProject converts an ONNX weight to the project's layout [K, C].
func (l *Layer) toProject(w *tensors.Tensor) (*tensors.Tensor, error) {
	v, err := floats32(w)
	if err != nil {
		return nil, fmt.Errorf("weight %q: %v", l.Weight, err)
	}
	out := make([]float32, len(v))
	switch {
	case l.Op == OpConv:
		// [O, C, kh, kw] → [kh, kw, C, O].
		O, C, kh, kw := l.onnxShape[0], l.onnxShape[1], l.onnxShape[2], l.onnxShape[3]
		for o := 0; o < O; o++ {
			for c := 0; c < C; c++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						out[((y*kw+x)*C+c)*O+o] = v[((o*C+c)*kh+y)*kw+x]
					}
				}
			}
		}
	case l.transB: // [C, K] → [K, C]
		for c := 0; c < l.C; c++ {
			for k := 0; k < l.K; k++ {
				out[k*l.C+c] = v[c*l.K+k]
			}
		}
	default:
		copy(out, v)
	}
	return tensors.FromFlatDataAndDimensions(out, l.K, l.C), nil
}

// fromProject is the inverse of toProject, in ONNX layout (flattened).
func (l *Layer) fromProject(v []float32) []float32 {
	out := make([]float32, len(v))
	switch {
	case l.Op == OpConv:
		O, C, kh, kw := l.onnxShape[0], l.onnxShape[1], l.onnxShape[2], l.onnxShape[3]
		for o := 0; o < O; o++ {
			for c := 0; c < C; c++ {
				for y := 0; y < kh; y++ {
					for x := 0; x < kw; x++ {
						out[((o*C+c)*kh+y)*kw+x] = v[((y*kw+x)*C+c)*O+o]
					}
				}
			}
		}
	case l.transB:
		for c := 0; c < l.C; c++ {
			for k := 0; k < l.K; k++ {
				out[c*l.K+k] = v[k*l.C+c]
			}
		}
	default:
		copy(out, v)
	}
	return out
}

// floats32 returns a float tensor's values as float32.
func floats32(t *tensors.Tensor) ([]float32, error) {
	switch t.DType() {
	case dtypes.Float32:
		return tensors.MustCopyFlatData[float32](t), nil
	case dtypes.Float64:
		v := tensors.MustCopyFlatData[float64](t)
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not floating point", t.DType())
}

// attr is the part of an ONNX AttributeProto the adapter reads (the
// generated type lives in an internal package of onnx-gomlx).
type attr interface {
	GetName() string
	GetI() int64
	GetInts() []int64
	GetF() float32
	GetS() []byte
}

// intAttrs returns a node's integer attributes.
func intAttrs[A attr](as []A) map[string]int {
	out := map[string]int{}
	for _, a := range as {
		out[a.GetName()] = int(a.GetI())
	}
	return out
}

// floatAttr returns a float attribute.
func floatAttr[A attr](as []A, name string) (float32, bool) {
	for _, a := range as {
		if a.GetName() == name {
			return a.GetF(), true
		}
	}
	return 0, false
}

// intsAttr returns an integer-list attribute.
func intsAttr[A attr](as []A, name string) []int {
	for _, a := range as {
		if a.GetName() == name {
			out := make([]int, len(a.GetInts()))
			for i, v := range a.GetInts() {
				out[i] = int(v)
			}
			return out
		}
	}
	return nil
}

// stringAttr returns a string attribute.
func stringAttr[A attr](as []A, name string) string {
	for _, a := range as {
		if a.GetName() == name {
			return string(a.GetS())
		}
	}
	return ""
}
