//! Deterministic stack metering: how deep a job may recurse, decided by the module itself
//! rather than by native frame sizes.
//!
//! wasmtime stops recursion when the native stack passes [`MAX_WASM_STACK`], and how many calls
//! fit depends on how Cranelift lays out frames, which differs between x86-64 and AArch64 (and
//! between wasmtime versions). A job recursing 3,000 deep could then finish on one provider and
//! overflow on another. So before compiling, Joule rewrites every function of the module to
//! count, in a global it adds, the stack *units* of the calls in progress, and to trap once the
//! count would pass [`MAX_STACK_UNITS`]:
//!
//! - a function's cost in units is [`FRAME_UNITS`] plus its locals (parameters included) plus
//!   the greatest height of its operand stack, all read from the wasm code (`wasmparser`'s
//!   validator tracks the height), so every machine computes the same cost;
//! - the function's entry adds its cost to the count and traps (`unreachable`) if the count is
//!   now above the limit; every `return`, and the end of the body, subtract it again. The body
//!   is wrapped in a `block` with the function's results, so a branch to the function's own
//!   label also reaches the subtraction.
//!
//! The count is exported as [`COUNTER_EXPORT`]; a job that traps on `unreachable` with the count
//! above the limit ran out of stack, which the VM reports as `Trap(StackOverflow)`.
//!
//! The limit is set so that it is reached before the native stack runs out as long as a frame
//! needs at most [`NATIVE_BYTES_PER_UNIT`] bytes per unit: a value spilled to the stack takes 8
//! bytes (16 for a float on x86-64, whose spill slots are vector-sized), and the fixed units
//! cover the return address, frame pointer and saved registers. Code that makes Cranelift keep
//! far more values alive than it has locals and stack slots (for instance thousands of
//! loop-invariant expressions hoisted out of a loop) can still overflow natively first; that is
//! reported as the same status, but where it happens is again architecture-dependent
//! (`vm/README.md`, "Determinism").

use wasm_encoder::reencode::{self, Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, ConstExpr, ExportKind, GlobalType, Instruction, SectionId, ValType};
use wasmtime::wasmparser::{self, Operator, Payload, ValidPayload, Validator};

use crate::engine::{JOULE_FEATURES, MAX_WASM_STACK};

/// Native stack bytes one unit stands for when choosing [`MAX_STACK_UNITS`].
pub const NATIVE_BYTES_PER_UNIT: usize = 24;

/// Units every call costs on top of its locals and operand stack.
pub const FRAME_UNITS: u32 = 16;

/// The most units the calls in progress may hold. Part of consensus.
pub const MAX_STACK_UNITS: u32 = (MAX_WASM_STACK / NATIVE_BYTES_PER_UNIT) as u32;

/// The export under which the instrumented module exposes its unit count.
pub const COUNTER_EXPORT: &str = "__joule_stack_units";

/// Why a module could not be instrumented (it had passed validation, so this is a bug or a
/// module feature the rewriter does not handle).
#[derive(Debug, thiserror::Error)]
#[error("stack metering: {0}")]
pub struct InstrumentError(String);

impl From<wasmparser::BinaryReaderError> for InstrumentError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        InstrumentError(e.to_string())
    }
}

impl<E: std::fmt::Display> From<reencode::Error<E>> for InstrumentError {
    fn from(e: reencode::Error<E>) -> Self {
        InstrumentError(e.to_string())
    }
}

/// What the rewrite needs to know about the module, read in a first pass.
#[derive(Debug, Default)]
struct Plan {
    /// Result types of each type index (`None` for a non-function type).
    type_results: Vec<Option<Vec<ValType>>>,
    /// Number of types in the module; new `() -> results` types are appended after them.
    types: u32,
    /// Type index of each defined function.
    func_types: Vec<u32>,
    /// Cost in units of each defined function, in order.
    costs: Vec<u32>,
    /// Imported plus defined globals: the counter's index.
    globals: u32,
    had_globals: bool,
    had_exports: bool,
    /// `() -> results` types to append for functions with several results.
    extra_types: Vec<Vec<ValType>>,
}

/// The cost in units of each function `wasm` defines, in order. `wasm` must already have passed
/// validation.
pub fn function_costs(wasm: &[u8]) -> Result<Vec<u32>, InstrumentError> {
    Ok(plan(wasm)?.costs)
}

/// Returns `wasm` with stack metering added. `wasm` must already have passed validation.
pub fn instrument(wasm: &[u8]) -> Result<Vec<u8>, InstrumentError> {
    let plan = plan(wasm)?;
    let mut meter = Meter {
        plan,
        next_func: 0,
        globals_written: false,
        exports_written: false,
    };
    let mut module = wasm_encoder::Module::new();
    meter.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)?;
    Ok(module.finish())
}

fn val_type(t: wasmparser::ValType) -> Result<ValType, InstrumentError> {
    RoundtripReencoder
        .val_type(t)
        .map_err(|e| InstrumentError(e.to_string()))
}

fn plan(wasm: &[u8]) -> Result<Plan, InstrumentError> {
    let mut plan = Plan::default();
    let mut validator = Validator::new_with_features(JOULE_FEATURES);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group?.into_types() {
                        plan.types += 1;
                        plan.type_results.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(
                                f.results()
                                    .iter()
                                    .map(|t| val_type(*t))
                                    .collect::<Result<_, _>>()?,
                            ),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    if let wasmparser::TypeRef::Global(_) = import?.ty {
                        plan.globals += 1;
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    plan.func_types.push(ty?);
                }
            }
            Payload::GlobalSection(reader) => {
                plan.had_globals = true;
                plan.globals += reader.count();
            }
            Payload::ExportSection(_) => plan.had_exports = true,
            _ => {}
        }
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            let mut v = func.into_validator(Default::default());
            for local in body.get_locals_reader()? {
                let (count, ty) = local?;
                v.define_locals(0, count, ty)?;
            }
            let mut max_height = 0;
            let mut ops = body.get_operators_reader()?;
            while !ops.eof() {
                let (op, offset) = ops.read_with_offset()?;
                v.op(offset, &op)?;
                max_height = max_height.max(v.operand_stack_height());
            }
            // A function costing more than the limit traps at entry; clamping keeps the
            // constant in range.
            plan.costs.push(
                FRAME_UNITS
                    .saturating_add(v.len_locals())
                    .saturating_add(max_height)
                    .min(MAX_STACK_UNITS + 1),
            );
        }
    }
    Ok(plan)
}

/// The rewriter: copies the module, adds the counter global and its export, and meters each
/// function body.
struct Meter {
    plan: Plan,
    next_func: usize,
    globals_written: bool,
    exports_written: bool,
}

impl Meter {
    fn counter(&self) -> u32 {
        self.plan.globals
    }

    fn counter_global(globals: &mut wasm_encoder::GlobalSection) {
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i32_const(0),
        );
    }

    /// `count -= cost`.
    fn leave(&self, f: &mut wasm_encoder::Function, cost: u32) {
        f.instruction(&Instruction::GlobalGet(self.counter()));
        f.instruction(&Instruction::I32Const(cost as i32));
        f.instruction(&Instruction::I32Sub);
        f.instruction(&Instruction::GlobalSet(self.counter()));
    }

    /// The block type of a body that leaves the function's results.
    fn body_block_type(&mut self, type_index: u32) -> Result<BlockType, InstrumentError> {
        let results = self
            .plan
            .type_results
            .get(type_index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| InstrumentError(format!("type {type_index} is not a function type")))?;
        Ok(match results.as_slice() {
            [] => BlockType::Empty,
            [one] => BlockType::Result(*one),
            _ => {
                let index = match self.plan.extra_types.iter().position(|r| *r == results) {
                    Some(i) => i,
                    None => {
                        self.plan.extra_types.push(results);
                        self.plan.extra_types.len() - 1
                    }
                };
                BlockType::FunctionType(self.plan.types + index as u32)
            }
        })
    }
}

/// Position of a section in the module's required order.
fn order(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

impl Reencode for Meter {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        // Functions with several results need a `() -> results` block type; find them now,
        // before the code section, so the types go into this section.
        for i in 0..self.plan.func_types.len() {
            let _ = self.body_block_type(self.plan.func_types[i]);
        }
        for results in &self.plan.extra_types {
            types.ty().function([], results.iter().copied());
        }
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        Self::counter_global(globals);
        self.globals_written = true;
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // A module without globals or exports gets the section where it belongs.
        let belongs_here = |id: SectionId| {
            after.is_none_or(|a| order(a) < order(id))
                && before.is_none_or(|b| order(b) > order(id))
        };
        if !self.plan.had_globals && !self.globals_written && belongs_here(SectionId::Global) {
            let mut globals = wasm_encoder::GlobalSection::new();
            Self::counter_global(&mut globals);
            module.section(&globals);
            self.globals_written = true;
        }
        if !self.plan.had_exports && !self.exports_written && belongs_here(SectionId::Export) {
            let mut exports = wasm_encoder::ExportSection::new();
            exports.export(COUNTER_EXPORT, ExportKind::Global, self.counter());
            module.section(&exports);
            self.exports_written = true;
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        exports.export(COUNTER_EXPORT, ExportKind::Global, self.counter());
        self.exports_written = true;
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.next_func;
        self.next_func += 1;
        let cost = self.plan.costs[index];
        let block = self
            .body_block_type(self.plan.func_types[index])
            .expect("every defined function has a function type (validated); qed");
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let counter = self.counter();
        // count += cost; if count > limit { unreachable }
        f.instruction(&Instruction::GlobalGet(counter));
        f.instruction(&Instruction::I32Const(cost as i32));
        f.instruction(&Instruction::I32Add);
        f.instruction(&Instruction::GlobalSet(counter));
        f.instruction(&Instruction::GlobalGet(counter));
        f.instruction(&Instruction::I32Const(MAX_STACK_UNITS as i32));
        f.instruction(&Instruction::I32GtU);
        f.instruction(&Instruction::If(BlockType::Empty));
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
        f.instruction(&Instruction::Block(block));
        let mut ops = func.get_operators_reader()?;
        while !ops.eof() {
            let op = ops.read()?;
            match op {
                Operator::Return => {
                    self.leave(&mut f, cost);
                    f.instruction(&Instruction::Return);
                }
                Operator::End if ops.eof() => {
                    // The body's own end: close the wrapping block, leave, end the function.
                    f.instruction(&Instruction::End);
                    self.leave(&mut f, cost);
                    f.instruction(&Instruction::End);
                }
                other => {
                    f.instruction(&self.instruction(other)?);
                }
            }
        }
        code.function(&f);
        Ok(())
    }
}
