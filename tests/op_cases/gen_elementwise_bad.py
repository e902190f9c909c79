# Malformed elementwise op uses: each must be refused with a message.
import numpy as np, onnx, os, shutil
from onnx import helper, numpy_helper, TensorProto as TP
import sys
root=sys.argv[1]; shutil.rmtree(root, ignore_errors=True); os.makedirs(root)
rng=np.random.default_rng(0)
def case(name, op, inputs, outputs, attrs={}, opset=13, consts={}, in_names=None):
    # inputs: list of (name, array or None for omitted); outputs: list of (name, expected array)
    names=[n for n,_ in inputs]
    node=helper.make_node(op, names, [n for n,_ in outputs], **attrs)
    ginputs=[helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape) for n,a in inputs if n and n not in consts]
    inits=[numpy_helper.from_array(consts[n], n) for n in consts]
    gouts=[helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape) for n,a in outputs]
    g=helper.make_graph([node], name, ginputs, gouts, initializer=inits)
    m=helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
    d=f'{root}/test_{name}'; os.makedirs(d+'/test_data_set_0')
    onnx.save(m, d+'/model.onnx')
    k=0
    for n,a in inputs:
        if n and n not in consts:
            open(f'{d}/test_data_set_0/input_{k}.pb','wb').write(numpy_helper.from_array(a).SerializeToString()); k+=1
    # No expected outputs: a case onyx runs to the end counts as accepted (a failure), whatever it computes.
import numpy as np
from onnx import TensorProto as TP
rng=np.random.default_rng(1)
x=rng.standard_normal((3,4)).astype(np.float32)
case('clip_min_vector','Clip',[('x',x),('m',np.zeros(2,np.float32))],[('y',x)])
case('clip_min_int','Clip',[('x',x),('m',np.zeros((),np.int32))],[('y',x)])
case('add_mixed','Add',[('a',x),('b',np.zeros((3,4),np.int32))],[('y',x)])
case('add_nobcast','Add',[('a',x),('b',np.zeros((3,),np.float32))],[('y',x)])
case('dropout_train_input','Dropout',[('x',x),('r',np.array(0.5,np.float32)),('t',np.array(True))],[('y',x)],opset=13)
case('where_nonbool','Where',[('c',x),('a',x),('b',x)],[('y',x)],opset=16)
case('prelu_bad_slope','PRelu',[('x',x[:,:1]),('s',x)],[('y',x)],opset=16)
case('sqrt_int','Sqrt',[('x',np.zeros(3,np.int32))],[('y',np.zeros(3,np.int32))])
case('cast_bad_to','Cast',[('x',x)],[('y',x)],attrs=dict(to=99))
case('dropout_bad_ratio','Dropout',[('x',x)],[('y',x)],attrs=dict(ratio=1.5),opset=10)
