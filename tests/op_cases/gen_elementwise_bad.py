# Malformed elementwise op uses: each must be refused with a message.
import sys

import numpy as np
from onnx import TensorProto as TP

from ew_case import fresh_root, write_case

root = fresh_root(sys.argv[1])
def case(name, op, inputs, outputs, attrs={}, opset=13, consts={}):
    write_case(root, name, op, inputs, outputs, attrs, opset, consts, expected=False)


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
