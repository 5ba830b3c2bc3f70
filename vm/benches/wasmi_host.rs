//! The Joule job ABI on wasmi (with fuel), for the interpreter baseline. Same host semantics as
//! `joule_vm::abi` for the happy path; misuse just fails the bench. wasmi is built with its
//! `deterministic` feature (see `vm/Cargo.toml`), so it canonicalizes NaNs like the Joule engine
//! and both do the same float work. wasmi's fuel is its own unit (per wasmi bytecode instruction,
//! not per wasm instruction), so its count differs from Joule's.

use wasmi::{Caller, Config, Engine, Extern, Linker, Module, Store};

pub struct Wasmi {
    engine: Engine,
    module: Module,
    linker: Linker<Host>,
}

pub struct Host {
    input: Vec<u8>,
    output: Vec<u8>,
}

fn memory(caller: &Caller<'_, Host>) -> Result<wasmi::Memory, wasmi::Error> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(wasmi::Error::new("no memory export")),
    }
}

impl Wasmi {
    pub fn new(wasm: &[u8]) -> Self {
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wasm).expect("wasmi compiles the example");
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap("joule", "input_len", |caller: Caller<'_, Host>| {
                caller.data().input.len() as u32
            })
            .expect("define");
        linker
            .func_wrap(
                "joule",
                "input_read",
                |mut caller: Caller<'_, Host>, ptr: u32, offset: u32, len: u32| {
                    let m = memory(&caller)?;
                    let (mem, host) = m.data_and_store_mut(&mut caller);
                    let (ptr, offset, len) = (ptr as usize, offset as usize, len as usize);
                    let src = host
                        .input
                        .get(offset..offset + len)
                        .ok_or_else(|| wasmi::Error::new("input range"))?;
                    mem.get_mut(ptr..ptr + len)
                        .ok_or_else(|| wasmi::Error::new("memory range"))?
                        .copy_from_slice(src);
                    Ok(())
                },
            )
            .expect("define");
        linker
            .func_wrap(
                "joule",
                "output_write",
                |mut caller: Caller<'_, Host>, ptr: u32, len: u32| {
                    let m = memory(&caller)?;
                    let (mem, host) = m.data_and_store_mut(&mut caller);
                    let (ptr, len) = (ptr as usize, len as usize);
                    host.output.extend_from_slice(
                        mem.get(ptr..ptr + len)
                            .ok_or_else(|| wasmi::Error::new("memory range"))?,
                    );
                    Ok(())
                },
            )
            .expect("define");
        linker
            .func_wrap(
                "joule",
                "abort",
                |_: Caller<'_, Host>, _ptr: u32, _len: u32| -> Result<(), wasmi::Error> {
                    Err(wasmi::Error::new("job aborted"))
                },
            )
            .expect("define");
        Self {
            engine,
            module,
            linker,
        }
    }

    /// Runs the job; returns its output and the wasmi fuel it consumed.
    pub fn run(&self, input: &[u8]) -> (Vec<u8>, u64) {
        let mut store = Store::new(
            &self.engine,
            Host {
                input: input.to_vec(),
                output: Vec::new(),
            },
        );
        const FUEL: u64 = u64::MAX / 2;
        store.set_fuel(FUEL).expect("fuel is on");
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)
            .expect("instantiates");
        let run = instance
            .get_typed_func::<(), ()>(&store, "run")
            .expect("run export");
        run.call(&mut store, ()).expect("job succeeds");
        let used = FUEL - store.get_fuel().expect("fuel is on");
        (store.into_data().output, used)
    }
}
