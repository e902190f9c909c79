import numpy as np, onnx, os, shutil
from onnx import helper as h, numpy_helper as nh
import sys
root = sys.argv[1]
shutil.rmtree(root, ignore_errors=True)
def case(name, nodes, inputs, outshape, opset, inits=(), outdt=1):
    g = h.make_graph(nodes, name,
        [h.make_tensor_value_info(n, nh.from_array(a).data_type, a.shape) for n, a in inputs],
        [h.make_tensor_value_info('y', outdt, None)],
        initializer=[nh.from_array(a, n) for n, a in inits])
    m = h.make_model(g, opset_imports=[h.make_opsetid('', opset)]); m.ir_version = 7
    d = f'{root}/test_{name}'; os.makedirs(d + '/test_data_set_0')
    onnx.save(m, d + '/model.onnx')
    for i, (n, a) in enumerate(inputs):
        open(f'{d}/test_data_set_0/input_{i}.pb', 'wb').write(nh.from_array(a, n).SerializeToString())
    # No expected output: a case onyx runs to the end counts as accepted (a failure), whatever it computes.
x = np.zeros((2, 3, 4), np.float32)
I = lambda *v: np.array(v, np.int64)
case('reshape_bad', [h.make_node('Reshape', ['x', 's'], ['y'])], [('x', x)], None, 13, inits=[('s', I(5, -1))])
case('reshape_two_neg', [h.make_node('Reshape', ['x', 's'], ['y'])], [('x', x)], None, 13, inits=[('s', I(-1, -1))])
case('reshape_runtime_shape', [h.make_node('Reshape', ['x', 's'], ['y'])], [('x', x), ('s', np.zeros((2, 12), np.int64))], None, 13)
case('gather_oob', [h.make_node('Gather', ['x', 'i'], ['y'])], [('x', x), ('i', np.array([[0, 5]], np.int64))], None, 13)
case('slice_step0', [h.make_node('Slice', ['x', 's', 'e', 'a', 'p'], ['y'])], [('x', x)], None, 13, inits=[('s', I(0)), ('e', I(1)), ('a', I(0)), ('p', I(0))])
case('transpose_bad', [h.make_node('Transpose', ['x'], ['y'], perm=[0, 0, 1])], [('x', x)], None, 13)
case('squeeze_not1', [h.make_node('Squeeze', ['x', 'a'], ['y'])], [('x', x)], None, 13, inits=[('a', I(1))])
case('unsqueeze_dup', [h.make_node('Unsqueeze', ['x', 'a'], ['y'])], [('x', x)], None, 13, inits=[('a', I(1, -4))])
case('concat_mismatch', [h.make_node('Concat', ['x', 'z'], ['y'], axis=0)], [('x', x), ('z', np.zeros((2, 2, 4), np.float32))], None, 13)
case('split_uneven', [h.make_node('Split', ['x'], ['y', 'w'], axis=1)], [('x', x)], None, 13)
case('pad_wrap', [h.make_node('Pad', ['x', 'p'], ['y'], mode='wrap')], [('x', x)], None, 13, inits=[('p', I(0,0,0,0,0,0))])
case('pad_too_neg', [h.make_node('Pad', ['x', 'p'], ['y'])], [('x', x)], None, 13, inits=[('p', I(0,-2,0,0,-2,0))])
case('expand_bad', [h.make_node('Expand', ['x', 's'], ['y'])], [('x', x)], None, 13, inits=[('s', I(3, 1, 1))])
case('cos_string', [h.make_node('ConstantOfShape', ['s'], ['y'], value=h.make_tensor('v', 8, [1], [b'a']))], [], None, 13, inits=[('s', I(2))])
case('constant_string', [h.make_node('Constant', [], ['y'], value_string='hi')], [], None, 13)
case('flatten_axis_bad', [h.make_node('Flatten', ['x'], ['y'], axis=4)], [('x', x)], None, 13)
case('reshape_v1_noattr', [h.make_node('Reshape', ['x'], ['y'])], [('x', x)], None, 1)
