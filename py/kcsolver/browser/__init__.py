"""Browser side of kcsolver: everything that only runs inside Pyodide.

`ffi` is the single module that touches Pyodide's FFI (`pyodide.ffi`,
`pyodide.http`, the `js` module); `worker` is the message handler the Web
Worker calls. Nothing else in the package imports from Pyodide, so a runtime
upgrade (0.27 -> 314) changes one file.
"""
