import numpy as np, onnx, os, shutil
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
import sys
root = sys.argv[1]
shutil.rmtree(root, ignore_errors=True)
def case(name, nodes, inputs, outputs, opset, inits=()):
    # inputs: list of (name, array); outputs: list of (name, array)
    g = h.make_graph(nodes, name,
        [h.make_tensor_value_info(n, nh.from_array(a).data_type, a.shape) for n, a in inputs],
        [h.make_tensor_value_info(n, nh.from_array(a).data_type, a.shape) for n, a in outputs],
        initializer=[nh.from_array(a, n) for n, a in inits])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)])
    m.ir_version = 7 if opset > 8 else 3
    d = f'{root}/test_{name}'; os.makedirs(d + '/test_data_set_0')
    onnx.save(m, d + '/model.onnx')
    for i, (n, a) in enumerate(inputs):
        open(f'{d}/test_data_set_0/input_{i}.pb', 'wb').write(nh.from_array(a, n).SerializeToString())
    for i, (n, a) in enumerate(outputs):
        open(f'{d}/test_data_set_0/output_{i}.pb', 'wb').write(nh.from_array(a, n).SerializeToString())
r = np.random.RandomState(0)
x = r.randn(2, 3, 4).astype(np.float32)
# Reshape opset 1 (attribute form) on a runtime input
case('reshape_attr_v1', [h.make_node('Reshape', ['x'], ['y'], shape=[0, -1])], [('x', x)], [('y', x.reshape(2, 12))], 1)
# Slice opset 9 attributes, end past bounds, negative start
case('slice_attr_v9', [h.make_node('Slice', ['x'], ['y'], starts=[-2, 1], ends=[1000, 3], axes=[2, 1])], [('x', x)], [('y', x[:, 1:3, -2:])], 9)
# Slice opset 13 from initializers, negative steps with INT64_MIN end
st = np.array([3, 2], np.int64); en = np.array([np.iinfo(np.int64).min, -100], np.int64); ax = np.array([2, 1], np.int64); sp = np.array([-2, -1], np.int64)
case('slice_neg_init', [h.make_node('Slice', ['x', 's', 'e', 'a', 'p'], ['y'])], [('x', x)], [('y', x[:, 2::-1, 3::-2])], 13,
     inits=[('s', st), ('e', en), ('a', ax), ('p', sp)])
# Split opset 11 attribute, uneven sizes, negative axis, int64 data
xi = np.arange(2 * 7).reshape(2, 7).astype(np.int64)
case('split_attr_v11', [h.make_node('Split', ['x'], ['a', 'b', 'c'], axis=-1, split=[2, 0, 5])], [('x', xi)],
     [('a', xi[:, :2]), ('b', xi[:, 2:2]), ('c', xi[:, 2:])], 11)
# Squeeze opset 11 without axes; Unsqueeze opset 11 attribute
xs = r.randn(1, 3, 1, 2).astype(np.float32)
case('squeeze_noaxes_v11', [h.make_node('Squeeze', ['x'], ['y'])], [('x', xs)], [('y', xs.reshape(3, 2))], 11)
case('squeeze_noaxes_v13', [h.make_node('Squeeze', ['x'], ['y'])], [('x', xs)], [('y', xs.reshape(3, 2))], 13)
case('unsqueeze_v11', [h.make_node('Unsqueeze', ['x'], ['y'], axes=[-1, 0])], [('x', x)], [('y', x.reshape(1, 2, 3, 4, 1))], 11)
# Pad opset 11 int32 with constant value input; opset 2 attribute reflect with pads > dim-1 ... use numpy reflect
xp = np.arange(6).reshape(2, 3).astype(np.int32)
case('pad_int_const_v11', [h.make_node('Pad', ['x', 'p', 'v'], ['y'])], [('x', xp)],
     [('y', np.pad(xp, ((1, 0), (0, 2)), constant_values=7))], 11, inits=[('p', np.array([1, 0, 0, 2], np.int64)), ('v', np.array(7, np.int32))])
case('pad_reflect_v2', [h.make_node('Pad', ['x'], ['y'], mode='reflect', pads=[0, 2, 0, 1])], [('x', x[0])],
     [('y', np.pad(x[0], ((0, 0), (2, 1)), mode='reflect'))], 2)
case('pad_edge_neg_v11', [h.make_node('Pad', ['x', 'p'], ['y'], mode='edge')], [('x', x)],
     [('y', np.pad(x, ((0, 0), (1, 0), (0, 0)), mode='edge')[:, :, 1:])], 11, inits=[('p', np.array([0, 1, -1, 0, 0, 0], np.int64))])
case('pad_const_v1', [h.make_node('Pad', ['x'], ['y'], paddings=[1, 1, 0, 0], value=2.5)], [('x', x[0])],
     [('y', np.pad(x[0], ((1, 0), (1, 0)), constant_values=2.5))], 1)
# Gather: int32 indices, scalar index, negative axis, fp16 data
xh = r.randn(3, 4, 5).astype(np.float16)
case('gather_i32_axis_neg', [h.make_node('Gather', ['x', 'i'], ['y'], axis=-1)], [('x', xh), ('i', np.array([[4, -1], [0, 2]], np.int32))],
     [('y', np.take(xh, [[4, 4], [0, 2]], axis=-1))], 13)
case('gather_scalar', [h.make_node('Gather', ['x', 'i'], ['y'], axis=1)], [('x', x), ('i', np.array(-2, np.int64))],
     [('y', x[:, -2])], 13)
# ConstantOfShape with int64 value from an initializer shape
case('cos_int64', [h.make_node('ConstantOfShape', ['s'], ['y'], value=nh.from_array(np.array([-3], np.int64)))], [],
     [('y', np.full((2, 3), -3, np.int64))], 13, inits=[('s', np.array([2, 3], np.int64))])
# Transpose int64 / bool
xb = r.randn(2, 3, 4, 5) > 0
case('transpose_bool', [h.make_node('Transpose', ['x'], ['y'], perm=[2, 0, 3, 1])], [('x', xb)], [('y', xb.transpose(2, 0, 3, 1))], 13)
# Concat with a zero-size input
z = np.zeros((2, 0, 4), np.float32)
case('concat_zero', [h.make_node('Concat', ['a', 'b', 'c'], ['y'], axis=1)], [('a', x), ('b', z), ('c', x)], [('y', np.concatenate([x, z, x], 1))], 13)
# Expand bidirectional
xe = r.randn(3, 1).astype(np.float32)
case('expand_bidir', [h.make_node('Expand', ['x', 's'], ['y'])], [('x', xe)], [('y', xe * np.ones((2, 1, 4), np.float32))], 13,
     inits=[('s', np.array([2, 1, 4], np.int64))])
# torch-style chain: Shape -> Gather -> Unsqueeze -> Concat -> Reshape (folds at prepare)
nodes = [h.make_node('Shape', ['x'], ['s']), h.make_node('Gather', ['s', 'zero'], ['b'], axis=0),
         h.make_node('Unsqueeze', ['b', 'ax'], ['bu']), h.make_node('Concat', ['bu', 'm1'], ['ns'], axis=0),
         h.make_node('Reshape', ['x', 'ns'], ['y'])]
case('torch_flatten_chain', nodes, [('x', x)], [('y', x.reshape(2, 12))], 13,
     inits=[('zero', np.array(0, np.int64)), ('ax', np.array([0], np.int64)), ('m1', np.array([-1], np.int64))])
# Shape opset 1 and Flatten axis 0
case('shape_v1', [h.make_node('Shape', ['x'], ['y'])], [('x', x)], [('y', np.array(x.shape, np.int64))], 1)
case('flatten_axis3', [h.make_node('Flatten', ['x'], ['y'], axis=3)], [('x', x)], [('y', x.reshape(24, 1))], 13)
# Split opset 13 input form, default equal split of int8
x8 = np.arange(12, dtype=np.int8).reshape(6, 2)
case('split_eq_int8', [h.make_node('Split', ['x'], ['a', 'b', 'c'])], [('x', x8)], [('a', x8[:2]), ('b', x8[2:4]), ('c', x8[4:])], 13)
big = np.iinfo(np.int64)
case('slice_huge_steps', [h.make_node('Slice', ['x', 's', 'e', 'a', 'p'], ['y'])], [('x', x)], [('y', x[:, ::big.max, ::-(2**62)])], 13,
     inits=[('s', np.array([0, -1], np.int64)), ('e', np.array([big.max, big.min], np.int64)), ('a', np.array([1, 2], np.int64)), ('p', np.array([big.max, big.min], np.int64))])
case('squeeze_empty_axes', [h.make_node('Squeeze', ['x', 'a'], ['y'])], [('x', xs)], [('y', xs.reshape(3, 2))], 13, inits=[('a', np.zeros(0, np.int64))])
