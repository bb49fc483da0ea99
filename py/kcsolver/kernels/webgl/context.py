"""WebGL2 from Python: a float-texture compute context on an OffscreenCanvas.

Tensors live in RGBA32F textures. A tensor of any rank is viewed as 4-D
(A, B, C, D) by prefixing ones; D (the channel axis) is packed four to a
texel: the texture is (C * ceil(D / 4)) texels wide and (A * B) tall, and
element (a, b, c, d) is component d % 4 of texel (c * D4 + d // 4, a * B + b).
A kernel is a fragment shader that writes every texel of its output once
(a full-screen triangle); programs are compiled once per source and cached.
A kernel may write several same-sized outputs at once (multiple render
targets: `outColor`, `outColor1`, ...), which lets one fragment share its
weight reads between several output pixels. Only model outputs are read back
(readPixels of RGBA/FLOAT).
"""

from __future__ import annotations

import math

import numpy as np

from ...browser import ffi

VERTEX_SHADER = """#version 300 es
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
HEADER = """#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
layout(location = 0) out vec4 outColor;
"""


class WebGLUnavailable(RuntimeError):
    """No WebGL2, no float render targets, or a lost context: use the numpy backend."""


def dims4(shape) -> tuple[int, int, int, int]:
    shape = tuple(int(d) for d in shape)
    if len(shape) > 4:
        raise ValueError(f"webgl tensors have at most 4 dimensions, got {shape}")
    return (1,) * (4 - len(shape)) + shape


class GpuTensor:
    """A tensor in a texture. `shape` is the logical shape; the texture follows `dims4(shape)`.
    A view (`base` set) reads another tensor's texture under another shape and keeps that tensor alive."""

    __slots__ = ("ctx", "shape", "dims", "texture", "width", "height", "base", "__weakref__")

    def __init__(self, ctx: "GLContext", shape, texture=None, base: "GpuTensor | None" = None):
        self.ctx, self.base = ctx, base
        self.shape = tuple(int(d) for d in shape)
        self.dims = dims4(self.shape)
        a, b, c, d = self.dims
        self.width, self.height = c * math.ceil(d / 4), a * b
        self.texture = texture if texture is not None else ctx.allocate(self.width, self.height)

    @property
    def dtype(self):
        return np.dtype(np.float32)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    def view(self, shape) -> "GpuTensor | None":
        """The same texels under another shape, without a copy, where the texture layout allows it: the
        same last two dims4 axes (texel columns) and the same number of rows. None where it does not."""
        a, b, c, d = dims4(shape)
        if (c, d) != self.dims[2:] or a * b != self.dims[0] * self.dims[1]:
            return None
        return GpuTensor(self.ctx, shape, self.texture, base=self.base or self)

    def __del__(self):
        if self.texture is None or self.base is not None:  # deleted already, or a view: the base owns it
            return
        try:
            self.ctx.release(self.width, self.height, self.texture)
        except Exception:  # interpreter shutdown or a lost context: nothing to give back
            pass


def accessor(name: str, dims) -> str:
    """GLSL helpers to read tensor `name` (a sampler uniform) at logical 4-D coordinates."""
    a, b, c, d = dims
    d4 = math.ceil(d / 4)
    return f"""uniform sampler2D {name};
vec4 {name}_texel(int a, int b, int c, int d4) {{ return texelFetch({name}, ivec2(c * {d4} + d4, a * {b} + b), 0); }}
float {name}_at(int a, int b, int c, int d) {{ return {name}_texel(a, b, c, d / 4)[d % 4]; }}
"""


def output_coords(dims) -> str:
    """GLSL prologue of main(): the output texel's (a, b, c, d4) coordinates."""
    a, b, c, d = dims
    return f"""  ivec2 p = ivec2(gl_FragCoord.xy);
  int a = p.y / {b}; int b = p.y % {b}; int c = p.x / {math.ceil(d / 4)}; int d4 = p.x % {math.ceil(d / 4)};
"""


class GLContext:
    def __init__(self):
        if not ffi.IN_BROWSER:
            raise WebGLUnavailable("WebGL needs a browser (Pyodide)")
        js = ffi.js
        if not hasattr(js, "OffscreenCanvas"):
            raise WebGLUnavailable("no OffscreenCanvas in this context")
        self.canvas = js.OffscreenCanvas.new(1, 1)
        options = ffi.to_js_object({"antialias": False, "depth": False, "stencil": False, "alpha": True,
                                    "premultipliedAlpha": False, "preserveDrawingBuffer": False,
                                    "powerPreference": "high-performance"})
        gl = self.canvas.getContext("webgl2", options)
        if gl is None:
            raise WebGLUnavailable("WebGL2 is not available")
        if gl.getExtension("EXT_color_buffer_float") is None:
            raise WebGLUnavailable("EXT_color_buffer_float is missing (no float render targets)")
        self.gl = gl
        self.max_size = int(gl.getParameter(gl.MAX_TEXTURE_SIZE))
        self.programs: dict[str, object] = {}
        self.uniforms: dict[tuple, object] = {}
        self.pool: dict[tuple[int, int], list] = {}
        self.textures = 0  # created and not deleted (in use or pooled)
        self.framebuffer = gl.createFramebuffer()
        self.max_outputs = int(gl.getParameter(gl.MAX_DRAW_BUFFERS))
        self.multi_framebuffers: dict[int, object] = {}
        self.vao = gl.createVertexArray()
        self.vertex = self._shader(gl.VERTEX_SHADER, VERTEX_SHADER)
        self.lose_extension = gl.getExtension("WEBGL_lose_context")
        renderer_info = gl.getExtension("WEBGL_debug_renderer_info")
        self.renderer = str(gl.getParameter(renderer_info.UNMASKED_RENDERER_WEBGL if renderer_info else gl.RENDERER))

    @property
    def lost(self) -> bool:
        return bool(self.gl.isContextLost())

    # ------------------------------------------------------------ textures
    def allocate(self, width: int, height: int):
        if width > self.max_size or height > self.max_size:
            raise WebGLUnavailable(f"a {width}x{height} texture exceeds MAX_TEXTURE_SIZE {self.max_size}")
        free = self.pool.get((width, height))
        if free:
            return free.pop()
        gl = self.gl
        texture = gl.createTexture()
        gl.bindTexture(gl.TEXTURE_2D, texture)
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST)
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST)
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE)
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE)
        gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, width, height)
        self.textures += 1
        return texture

    def release(self, width: int, height: int, texture) -> None:
        """Keep an activation's texture for the next tensor of the same size."""
        self.pool.setdefault((width, height), []).append(texture)

    def delete(self, tensor: GpuTensor) -> None:
        """Give a tensor's texture back to the driver (weights of a model that is dropped)."""
        if tensor.texture is not None:
            self.gl.deleteTexture(tensor.texture)
            tensor.texture = None
            self.textures -= 1

    def upload(self, array: np.ndarray) -> GpuTensor:
        array = np.asarray(array, np.float32)
        tensor = GpuTensor(self, array.shape)
        a, b, c, d = tensor.dims
        d4 = math.ceil(d / 4)
        packed = np.zeros((a * b, c, d4 * 4), np.float32)
        packed[:, :, :d] = array.reshape(a * b, c, d)
        gl = self.gl
        gl.bindTexture(gl.TEXTURE_2D, tensor.texture)
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, tensor.width, tensor.height, gl.RGBA, gl.FLOAT,
                         ffi.to_typed_array(packed))
        return tensor

    def _bind_for_reading(self, tensor: GpuTensor) -> None:
        gl = self.gl
        gl.bindFramebuffer(gl.FRAMEBUFFER, self.framebuffer)
        gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tensor.texture, 0)

    def download(self, tensor: GpuTensor) -> np.ndarray:
        gl = self.gl
        self._bind_for_reading(tensor)
        buffer = ffi.js.Float32Array.new(tensor.width * tensor.height * 4)
        gl.readPixels(0, 0, tensor.width, tensor.height, gl.RGBA, gl.FLOAT, buffer)
        a, b, c, d = tensor.dims
        packed = ffi.from_typed_array(buffer, "float32", (a * b, c, tensor.width // c * 4))
        return np.ascontiguousarray(packed[:, :, :d]).reshape(tensor.shape)

    def wait(self, tensor: GpuTensor) -> None:
        """Block until `tensor` is computed: read one texel back (Chromium's gl.finish() only flushes)."""
        gl = self.gl
        self._bind_for_reading(tensor)
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, ffi.js.Float32Array.new(4))

    # ------------------------------------------------------------ programs
    def _shader(self, kind, source):
        gl = self.gl
        shader = gl.createShader(kind)
        gl.shaderSource(shader, source)
        gl.compileShader(shader)
        if not gl.getShaderParameter(shader, gl.COMPILE_STATUS):
            log = gl.getShaderInfoLog(shader)
            raise RuntimeError(f"shader compile error: {log}\n{source}")
        return shader

    def program(self, source: str):
        program = self.programs.get(source)
        if program is None:
            gl = self.gl
            program = gl.createProgram()
            gl.attachShader(program, self.vertex)
            gl.attachShader(program, self._shader(gl.FRAGMENT_SHADER, HEADER + source))
            gl.linkProgram(program)
            if not gl.getProgramParameter(program, gl.LINK_STATUS):
                raise RuntimeError(f"shader link error: {gl.getProgramInfoLog(program)}")
            self.programs[source] = program
        return program

    def run(self, source: str, inputs: dict[str, GpuTensor], out_shape) -> GpuTensor:
        """Render `source` (a fragment shader body using the named input samplers) into a new tensor."""
        return self.run_multi(source, inputs, [out_shape])[0]

    def run_multi(self, source: str, inputs: dict[str, GpuTensor], out_shapes: list) -> list[GpuTensor]:
        """Like run, for a shader writing len(out_shapes) outputs of one texture size (outColor, outColor1, ...)."""
        gl = self.gl
        outputs = [GpuTensor(self, shape) for shape in out_shapes]
        program = self.program(source)
        gl.useProgram(program)
        for unit, (name, tensor) in enumerate(inputs.items()):
            key = (source, name)
            location = self.uniforms.get(key)
            if location is None:
                location = self.uniforms[key] = gl.getUniformLocation(program, name)
            gl.activeTexture(gl.TEXTURE0 + unit)
            gl.bindTexture(gl.TEXTURE_2D, tensor.texture)
            gl.uniform1i(location, unit)
        gl.bindFramebuffer(gl.FRAMEBUFFER, self._framebuffer(len(outputs)))
        for index, output in enumerate(outputs):
            gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + index, gl.TEXTURE_2D, output.texture, 0)
        gl.viewport(0, 0, outputs[0].width, outputs[0].height)
        gl.bindVertexArray(self.vao)
        gl.drawArrays(gl.TRIANGLES, 0, 3)
        return outputs

    def _framebuffer(self, count: int):
        """The framebuffer for `count` outputs; every attachment is replaced on each use, so none goes stale."""
        if count == 1:
            return self.framebuffer
        framebuffer = self.multi_framebuffers.get(count)
        if framebuffer is None:
            gl = self.gl
            framebuffer = self.multi_framebuffers[count] = gl.createFramebuffer()
            gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer)
            gl.drawBuffers(ffi.to_js_object([gl.COLOR_ATTACHMENT0 + i for i in range(count)]))
        return framebuffer
