"""One-node test cases in ONNX's backend-test layout (model.onnx + test_data_set_0/*.pb),
shared by the elementwise generators (gen_elementwise_cases.py, gen_elementwise_bad.py)."""
import os
import shutil

import onnx
from onnx import helper, numpy_helper


def fresh_root(root):
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    return root


def write_case(root, name, op, inputs, outputs, attrs={}, opset=13, consts={}, expected=True):
    """inputs: (name, array) pairs ('' for an omitted input); outputs: (name, expected array) pairs.
    consts become initializers.  expected=False writes no expected outputs (malformed cases: a case
    onyx runs to the end counts as accepted, a failure, whatever it computes)."""
    names = [n for n, _ in inputs]
    node = helper.make_node(op, names, [n for n, _ in outputs], **attrs)
    info = lambda n, a: helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape)
    ginputs = [info(n, a) for n, a in inputs if n and n not in consts]
    inits = [numpy_helper.from_array(consts[n], n) for n in consts]
    gouts = [info(n, a) for n, a in outputs]
    g = helper.make_graph([node], name, ginputs, gouts, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
    d = f'{root}/test_{name}'
    os.makedirs(d + '/test_data_set_0')
    onnx.save(m, d + '/model.onnx')
    k = 0
    for n, a in inputs:
        if n and n not in consts:
            with open(f'{d}/test_data_set_0/input_{k}.pb', 'wb') as f:
                f.write(numpy_helper.from_array(a).SerializeToString())
            k += 1
    for i, (n, a) in enumerate(outputs if expected else []):
        with open(f'{d}/test_data_set_0/output_{i}.pb', 'wb') as f:
            f.write(numpy_helper.from_array(a).SerializeToString())
