//! Publish-time module validation: the rules a module must pass before the chain stores it.
//!
//! [`validate`] checks, in this order: the size cap; that the bytes are WebAssembly using only
//! [`JOULE_FEATURES`](crate::engine::JOULE_FEATURES) (a module that is valid with every proposal
//! enabled but not with Joule's is refused as [`ValidationError::ForbiddenFeature`]); the caps on
//! functions, imports, exports, data segments, globals, tables, memories, locals and body size;
//! that every import is a `joule.*` function with its ABI type; that `memory` and `run` are
//! exported with the right types. Each refusal names the rule and the item.

use crate::abi;
use crate::engine::JOULE_FEATURES;
use serde::{Deserialize, Serialize};
use wasmtime::wasmparser::{
    CompositeInnerType, Parser, Payload, ValType, Validator, WasmFeatures,
    types::{EntityType, TypesRef},
};

/// The publish-time caps. All are consensus parameters of the module registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationRules {
    /// Largest module, in bytes.
    pub max_module_bytes: usize,
    /// Most functions defined by the module (imports not counted).
    pub max_functions: u32,
    /// Most imports.
    pub max_imports: u32,
    /// Most exports.
    pub max_exports: u32,
    /// Most data segments.
    pub max_data_segments: u32,
    /// Most globals defined by the module.
    pub max_globals: u32,
    /// Most tables.
    pub max_tables: u32,
    /// Largest initial table size, in elements.
    pub max_table_initial: u64,
    /// Largest initial memory, in 64 KiB pages.
    pub max_memory_initial_pages: u64,
    /// Most locals in one function (bounds compile time and stack frames).
    pub max_locals_per_function: u32,
    /// Largest function body, in bytes.
    pub max_function_body_bytes: usize,
}

impl Default for ValidationRules {
    /// 2 MiB modules, 10 000 functions, 4 imports, 64 exports, 1 024 data segments and globals,
    /// 1 table of at most 65 536 initial elements, 4 096 initial pages (256 MiB), 10 000 locals
    /// and 256 KiB per function.
    fn default() -> Self {
        Self {
            max_module_bytes: 2 << 20,
            max_functions: 10_000,
            max_imports: 4,
            max_exports: 64,
            max_data_segments: 1_024,
            max_globals: 1_024,
            max_tables: 1,
            max_table_initial: 65_536,
            max_memory_initial_pages: 4_096,
            max_locals_per_function: 10_000,
            max_function_body_bytes: 256 << 10,
        }
    }
}

/// A countable kind of module item, for [`ValidationError::TooMany`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    /// Defined functions.
    Functions,
    /// Imports.
    Imports,
    /// Exports.
    Exports,
    /// Data segments.
    DataSegments,
    /// Defined globals.
    Globals,
    /// Tables.
    Tables,
    /// Memories.
    Memories,
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Item::Functions => "functions",
            Item::Imports => "imports",
            Item::Exports => "exports",
            Item::DataSegments => "data segments",
            Item::Globals => "globals",
            Item::Tables => "tables",
            Item::Memories => "memories",
        })
    }
}

/// Why a module was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The module is larger than the size cap.
    #[error("module is {size} bytes, more than the cap of {max}")]
    TooLarge {
        /// Module size in bytes.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The bytes are not a valid WebAssembly module.
    #[error("not a valid WebAssembly module (at byte {offset}): {message}")]
    Malformed {
        /// Byte offset of the problem.
        offset: usize,
        /// wasmparser's description.
        message: String,
    },
    /// The module is valid WebAssembly but uses a proposal Joule refuses (SIMD, threads,
    /// memory64, …).
    #[error("module uses a WebAssembly feature Joule refuses (at byte {offset}): {message}")]
    ForbiddenFeature {
        /// Byte offset of the first use.
        offset: usize,
        /// wasmparser's description, naming the feature.
        message: String,
    },
    /// More items of one kind than the cap allows.
    #[error("module has {count} {item}, more than the cap of {max}")]
    TooMany {
        /// Which kind of item.
        item: Item,
        /// How many the module has.
        count: u64,
        /// The cap.
        max: u64,
    },
    /// An import that is not one of the `joule.*` ABI functions.
    #[error(
        "import `{module}.{name}` is not part of the Joule ABI (only joule.input_len, joule.input_read, joule.output_write, joule.abort)"
    )]
    ForbiddenImport {
        /// Import module name.
        module: String,
        /// Import item name.
        name: String,
    },
    /// A `joule.*` import with the wrong kind or type.
    #[error("import `joule.{name}` has the wrong type: expected {expected}")]
    ImportType {
        /// Import name.
        name: String,
        /// The ABI type.
        expected: String,
    },
    /// A required export is missing.
    #[error("module does not export `{name}`")]
    MissingExport {
        /// `memory` or `run`.
        name: &'static str,
    },
    /// The module exports a name the VM reserves for itself.
    #[error("export `{name}` is reserved for the VM's stack meter")]
    ReservedExport {
        /// The name.
        name: &'static str,
    },
    /// A required export has the wrong kind or type.
    #[error("export `{name}` has the wrong type: expected {expected}")]
    ExportType {
        /// `memory` or `run`.
        name: &'static str,
        /// What the ABI requires.
        expected: &'static str,
    },
    /// The initial memory is larger than the cap.
    #[error("memory starts at {pages} pages, more than the cap of {max}")]
    MemoryTooLarge {
        /// Initial pages.
        pages: u64,
        /// The cap.
        max: u64,
    },
    /// A table's initial size is larger than the cap.
    #[error("table {index} starts at {elements} elements, more than the cap of {max}")]
    TableTooLarge {
        /// Table index.
        index: u32,
        /// Initial elements.
        elements: u64,
        /// The cap.
        max: u64,
    },
    /// A function has more locals than the cap.
    #[error("function {index} has {count} locals, more than the cap of {max}")]
    TooManyLocals {
        /// Index among defined functions.
        index: u32,
        /// Number of locals.
        count: u64,
        /// The cap.
        max: u32,
    },
    /// A function body is larger than the cap.
    #[error("function {index} body is {size} bytes, more than the cap of {max}")]
    FunctionTooLarge {
        /// Index among defined functions.
        index: u32,
        /// Body size in bytes.
        size: usize,
        /// The cap.
        max: usize,
    },
}

fn too_many(item: Item, count: u32, max: u32) -> Result<(), ValidationError> {
    if count > max {
        return Err(ValidationError::TooMany {
            item,
            count: count.into(),
            max: max.into(),
        });
    }
    Ok(())
}

/// Checks `wasm` against Joule's publish-time rules; see the module docs for the order.
pub fn validate(wasm: &[u8], rules: &ValidationRules) -> Result<(), ValidationError> {
    if wasm.len() > rules.max_module_bytes {
        return Err(ValidationError::TooLarge {
            size: wasm.len(),
            max: rules.max_module_bytes,
        });
    }
    let types = match Validator::new_with_features(JOULE_FEATURES).validate_all(wasm) {
        Ok(types) => types,
        Err(e) => {
            let (offset, message) = (e.offset(), e.message().to_string());
            return Err(
                match Validator::new_with_features(WasmFeatures::all()).validate_all(wasm) {
                    Ok(_) => ValidationError::ForbiddenFeature { offset, message },
                    Err(_) => ValidationError::Malformed { offset, message },
                },
            );
        }
    };
    check_sections(wasm, rules)?;
    let types = types.as_ref();
    check_imports(&types)?;
    check_exports(&types)?;
    Ok(())
}

fn malformed(e: wasmtime::wasmparser::BinaryReaderError) -> ValidationError {
    ValidationError::Malformed {
        offset: e.offset(),
        message: e.message().to_string(),
    }
}

/// Counts and sizes, read section by section (the module is already known to be valid).
fn check_sections(wasm: &[u8], rules: &ValidationRules) -> Result<(), ValidationError> {
    let mut function_index = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(malformed)? {
            Payload::ImportSection(s) => too_many(
                Item::Imports,
                s.into_imports().count() as u32,
                rules.max_imports,
            )?,
            Payload::FunctionSection(s) => {
                too_many(Item::Functions, s.count(), rules.max_functions)?
            }
            Payload::ExportSection(s) => too_many(Item::Exports, s.count(), rules.max_exports)?,
            Payload::DataSection(s) => {
                too_many(Item::DataSegments, s.count(), rules.max_data_segments)?
            }
            Payload::GlobalSection(s) => too_many(Item::Globals, s.count(), rules.max_globals)?,
            Payload::TableSection(s) => {
                too_many(Item::Tables, s.count(), rules.max_tables)?;
                for (index, table) in s.into_iter().enumerate() {
                    let elements = table.map_err(malformed)?.ty.initial;
                    if elements > rules.max_table_initial {
                        let max = rules.max_table_initial;
                        return Err(ValidationError::TableTooLarge {
                            index: index as u32,
                            elements,
                            max,
                        });
                    }
                }
            }
            Payload::MemorySection(s) => {
                too_many(Item::Memories, s.count(), 1)?;
                for memory in s {
                    let pages = memory.map_err(malformed)?.initial;
                    if pages > rules.max_memory_initial_pages {
                        let max = rules.max_memory_initial_pages;
                        return Err(ValidationError::MemoryTooLarge { pages, max });
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = function_index;
                function_index += 1;
                let size = body.range().len();
                if size > rules.max_function_body_bytes {
                    let max = rules.max_function_body_bytes;
                    return Err(ValidationError::FunctionTooLarge { index, size, max });
                }
                let mut count = 0u64;
                for local in body.get_locals_reader().map_err(malformed)? {
                    count += u64::from(local.map_err(malformed)?.0);
                }
                if count > u64::from(rules.max_locals_per_function) {
                    let max = rules.max_locals_per_function;
                    return Err(ValidationError::TooManyLocals { index, count, max });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `ty` is a function type of `params` i32 parameters and `results` i32 results.
fn is_i32_func(types: &TypesRef<'_>, ty: &EntityType, params: usize, results: usize) -> bool {
    let EntityType::Func(id) = ty else {
        return false;
    };
    let CompositeInnerType::Func(func) = &types[*id].composite_type.inner else {
        return false;
    };
    func.params().len() == params
        && func.results().len() == results
        && func
            .params()
            .iter()
            .chain(func.results())
            .all(|t| *t == ValType::I32)
}

fn check_imports(types: &TypesRef<'_>) -> Result<(), ValidationError> {
    let imports = types.core_imports().into_iter().flatten();
    for (module, name, ty) in imports {
        let arity = (module == abi::MODULE)
            .then(|| abi::import_arity(name))
            .flatten();
        let Some((params, results)) = arity else {
            return Err(ValidationError::ForbiddenImport {
                module: module.into(),
                name: name.into(),
            });
        };
        if !is_i32_func(types, &ty, params, results) {
            let expected =
                format!("func with {params} i32 parameter(s) and {results} i32 result(s)");
            return Err(ValidationError::ImportType {
                name: name.into(),
                expected,
            });
        }
    }
    Ok(())
}

fn check_exports(types: &TypesRef<'_>) -> Result<(), ValidationError> {
    let exports: Vec<(&str, EntityType)> = types.core_exports().into_iter().flatten().collect();
    let find = |name: &'static str| {
        exports
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, ty)| *ty)
            .ok_or(ValidationError::MissingExport { name })
    };
    if exports
        .iter()
        .any(|(n, _)| *n == crate::stack::COUNTER_EXPORT)
    {
        return Err(ValidationError::ReservedExport {
            name: crate::stack::COUNTER_EXPORT,
        });
    }
    if !matches!(find("memory")?, EntityType::Memory(_)) {
        return Err(ValidationError::ExportType {
            name: "memory",
            expected: "a memory",
        });
    }
    if !is_i32_func(types, &find("run")?, 0, 0) {
        return Err(ValidationError::ExportType {
            name: "run",
            expected: "func () -> ()",
        });
    }
    Ok(())
}
