// The parts of the WebAssembly JS API the Wasm filter uses: the project compiles against ES2023
// and Node's types, neither of which declares the WebAssembly namespace.
declare namespace WebAssembly {
  interface ModuleImportDescriptor { module: string; name: string; kind: 'function' | 'table' | 'memory' | 'global' | 'tag' }
  interface ModuleExportDescriptor { name: string; kind: 'function' | 'table' | 'memory' | 'global' | 'tag' }
  class Module {
    constructor(bytes: Uint8Array);
    static imports(m: Module): ModuleImportDescriptor[];
    static exports(m: Module): ModuleExportDescriptor[];
  }
  class Instance {
    constructor(m: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(d: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  function compile(bytes: Uint8Array): Promise<Module>;
  function validate(bytes: Uint8Array): boolean;
}
