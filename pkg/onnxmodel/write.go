package onnxmodel

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sgdescape/sgdescape/pkg/model"
)

// This file writes ONNX files: the project's own MLPs (ExportMLP, so that
// a network trained here can be diagnosed like an imported one, and the
// cross-checks can compare both paths), and small graphs for tests. It
// encodes the protobuf messages of onnx.proto directly (field numbers
// below); the files are read back by onnx-gomlx in the tests.

// Spec is a small ONNX graph to write.
type Spec struct {
	Nodes        []NodeSpec
	Initializers []TensorSpec
	Input        ValueSpec
	Output       ValueSpec
	Opset        int // 0: 17
}

// NodeSpec is one node.
type NodeSpec struct {
	Op, Name      string
	Inputs        []string
	Outputs       []string
	Ints          map[string]int64   // integer attributes
	IntLists      map[string][]int64 // integer-list attributes
	Floats        map[string]float32 // float attributes
	ExtraEncoding []byte             // more encoded attributes (tests)
}

// TensorSpec is an initializer: float32 values (or int64 when Int64 is set).
type TensorSpec struct {
	Name  string
	Dims  []int64
	F32   []float32
	Int64 []int64
	// Declared overrides the data type written (tests of bad files).
	Declared int32
}

// ValueSpec names a graph input or output; a dimension ≤ 0 is dynamic
// (named "batch").
type ValueSpec struct {
	Name string
	Dims []int64
}

// ONNX field numbers and enumerations (onnx.proto).
const (
	onnxFloat = 1
	onnxInt64 = 7

	attrFloat = 1
	attrInt   = 2
	attrInts  = 7
)

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMsg(b []byte, num protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func encodeTensor(t TensorSpec) []byte {
	var b []byte
	for _, d := range t.Dims {
		b = appendVarint(b, 1, uint64(d)) // dims
	}
	dt := int32(onnxFloat)
	var raw []byte
	if t.Int64 != nil {
		dt = onnxInt64
		raw = make([]byte, 8*len(t.Int64))
		for i, v := range t.Int64 {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	} else {
		raw = make([]byte, 4*len(t.F32))
		for i, v := range t.F32 {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	}
	if t.Declared != 0 {
		dt = t.Declared
	}
	b = appendVarint(b, 2, uint64(dt)) // data_type
	b = appendString(b, 8, t.Name)     // name
	return appendMsg(b, 9, raw)        // raw_data
}

func encodeValue(v ValueSpec) []byte {
	var shape []byte
	for _, d := range v.Dims {
		var dim []byte
		if d > 0 {
			dim = appendVarint(nil, 1, uint64(d)) // dim_value
		} else {
			dim = appendString(nil, 2, "batch") // dim_param
		}
		shape = appendMsg(shape, 1, dim)
	}
	tt := appendVarint(nil, 1, onnxFloat) // elem_type
	tt = appendMsg(tt, 2, shape)          // shape
	typ := appendMsg(nil, 1, tt)          // TypeProto.tensor_type
	b := appendString(nil, 1, v.Name)
	return appendMsg(b, 2, typ)
}

func encodeNode(n NodeSpec) []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range n.Outputs {
		b = appendString(b, 2, out)
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.Op)
	for _, k := range sortedKeys(n.Ints) {
		a := appendString(nil, 1, k)
		a = appendVarint(a, 3, uint64(n.Ints[k]))
		a = appendVarint(a, 20, attrInt)
		b = appendMsg(b, 5, a)
	}
	for _, k := range sortedKeys(n.IntLists) {
		a := appendString(nil, 1, k)
		for _, v := range n.IntLists[k] {
			a = appendVarint(a, 8, uint64(v))
		}
		a = appendVarint(a, 20, attrInts)
		b = appendMsg(b, 5, a)
	}
	for _, k := range sortedKeys(n.Floats) {
		a := appendString(nil, 1, k)
		a = protowire.AppendTag(a, 2, protowire.Fixed32Type)
		a = protowire.AppendFixed32(a, math.Float32bits(n.Floats[k]))
		a = appendVarint(a, 20, attrFloat)
		b = appendMsg(b, 5, a)
	}
	return append(b, n.ExtraEncoding...)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Encode returns the graph as the bytes of an ONNX ModelProto (IR version 8).
func (g Spec) Encode() []byte {
	var gb []byte
	for _, n := range g.Nodes {
		gb = appendMsg(gb, 1, encodeNode(n))
	}
	gb = appendString(gb, 2, "sgdescape")
	for _, t := range g.Initializers {
		gb = appendMsg(gb, 5, encodeTensor(t))
	}
	gb = appendMsg(gb, 11, encodeValue(g.Input))
	gb = appendMsg(gb, 12, encodeValue(g.Output))
	opset := g.Opset
	if opset == 0 {
		opset = 17
	}
	var b []byte
	b = appendVarint(b, 1, 8)                                // ir_version
	b = appendString(b, 2, "sgdescape")                      // producer_name
	b = appendMsg(b, 8, appendVarint(nil, 2, uint64(opset))) // opset_import {version}
	return appendMsg(b, 7, gb)                               // graph
}

// ExportMLP writes a dense network of the project (model.MLP: dense layers
// with ReLU between them) with its parameters as an ONNX file: input
// "input" [batch, D], Gemm (weight [out, in], transB = 1, as PyTorch's
// Linear) and Relu nodes, output "output" [batch, K]. Imported again with
// Load, the network and its parameters are the same to the bit.
func ExportMLP(path string, a model.Arch, params []*tensors.Tensor) error {
	if a.Net != nil || len(a.Input) != 1 {
		return fmt.Errorf("onnx: ExportMLP writes the project's MLPs only; %s is not one", a.Name)
	}
	ps := a.Params()
	if len(params) != len(ps) {
		return fmt.Errorf("onnx: %s takes %d parameter tensors, got %d", a.Name, len(ps), len(params))
	}
	g := Spec{Input: ValueSpec{"input", []int64{-1, int64(a.Input[0])}}, Output: ValueSpec{"output", []int64{-1, int64(a.Outputs)}}}
	prev := "input"
	pi := 0
	for i, l := range a.Layers {
		switch l.Kind {
		case model.KindDense:
			w := tensors.MustCopyFlatData[float32](params[pi])
			b := tensors.MustCopyFlatData[float32](params[pi+1])
			pi += 2
			wt := make([]float32, len(w)) // [in, out] → [out, in]
			for r := 0; r < l.In; r++ {
				for c := 0; c < l.Out; c++ {
					wt[c*l.In+r] = w[r*l.Out+c]
				}
			}
			wn, bn, out := fmt.Sprintf("fc%d.weight", i), fmt.Sprintf("fc%d.bias", i), fmt.Sprintf("gemm%d", i)
			g.Initializers = append(g.Initializers, TensorSpec{Name: wn, Dims: []int64{int64(l.Out), int64(l.In)}, F32: wt},
				TensorSpec{Name: bn, Dims: []int64{int64(l.Out)}, F32: b})
			g.Nodes = append(g.Nodes, NodeSpec{Op: "Gemm", Name: fmt.Sprintf("/fc%d/Gemm", i), Inputs: []string{prev, wn, bn}, Outputs: []string{out},
				Ints: map[string]int64{"transB": 1}, Floats: map[string]float32{"alpha": 1, "beta": 1}})
			prev = out
		case model.KindReLU:
			out := fmt.Sprintf("relu%d", i)
			g.Nodes = append(g.Nodes, NodeSpec{Op: "Relu", Name: fmt.Sprintf("/relu%d/Relu", i), Inputs: []string{prev}, Outputs: []string{out}})
			prev = out
		default:
			return fmt.Errorf("onnx: ExportMLP cannot write a %s layer", l.Kind)
		}
	}
	g.Nodes[len(g.Nodes)-1].Outputs = []string{"output"}
	return os.WriteFile(path, g.Encode(), 0o644)
}
