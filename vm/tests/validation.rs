//! Publish-time validation: each rule refuses with a typed error naming the item.

use crate::support::{fixture, wat};
use joule_vm::{Item, ValidationError, ValidationRules, examples, validate};

fn check(wasm: &[u8]) -> Result<(), ValidationError> {
    validate(wasm, &ValidationRules::default())
}

#[test]
fn every_example_job_passes() {
    for e in examples::ALL {
        check(e.wasm).unwrap_or_else(|err| panic!("{}: {err}", e.name));
    }
}

#[test]
fn garbage_is_malformed() {
    assert!(matches!(
        check(b"\0asm\x01\0\0\0\x05"),
        Err(ValidationError::Malformed { .. })
    ));
    assert!(matches!(
        check(b"hello"),
        Err(ValidationError::Malformed { .. })
    ));
}

#[test]
fn simd_and_shared_memory_are_forbidden_features() {
    for name in ["simd", "shared_memory"] {
        let err = check(&fixture(name)).expect_err(name);
        assert!(
            matches!(err, ValidationError::ForbiddenFeature { .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn memory64_and_multi_memory_are_forbidden_features() {
    let m64 = wat(r#"(module (memory (export "memory") i64 1) (func (export "run")))"#);
    assert!(matches!(
        check(&m64),
        Err(ValidationError::ForbiddenFeature { .. })
    ));
    let two = wat(r#"(module (memory (export "memory") 1) (memory 1) (func (export "run")))"#);
    assert!(matches!(
        check(&two),
        Err(ValidationError::ForbiddenFeature { .. })
    ));
}

#[test]
fn unknown_joule_import_is_forbidden() {
    let wasm = wat(
        r#"(module (import "joule" "clock" (func)) (memory (export "memory") 1) (func (export "run")))"#,
    );
    let err = check(&wasm).expect_err("joule.clock is not in the ABI");
    assert_eq!(
        err,
        ValidationError::ForbiddenImport {
            module: "joule".into(),
            name: "clock".into()
        }
    );
}

#[test]
fn imported_memory_is_forbidden() {
    let wasm = wat(
        r#"(module (import "joule" "memory" (memory 1)) (export "memory" (memory 0)) (func (export "run")))"#,
    );
    assert!(matches!(
        check(&wasm),
        Err(ValidationError::ForbiddenImport { .. })
    ));
}

#[test]
fn joule_import_with_the_wrong_type_is_refused() {
    let wasm = wat(
        r#"(module (import "joule" "input_len" (func (result i64))) (memory (export "memory") 1) (func (export "run")))"#,
    );
    let err = check(&wasm).expect_err("wrong type");
    assert!(
        matches!(&err, ValidationError::ImportType { name, .. } if name == "input_len"),
        "{err}"
    );
}

#[test]
fn missing_or_mistyped_exports_are_refused() {
    let no_run = wat(r#"(module (memory (export "memory") 1))"#);
    assert_eq!(
        check(&no_run),
        Err(ValidationError::MissingExport { name: "run" })
    );
    let no_memory = wat(r#"(module (memory 1) (func (export "run")))"#);
    assert_eq!(
        check(&no_memory),
        Err(ValidationError::MissingExport { name: "memory" })
    );
    let bad_run = wat(r#"(module (memory (export "memory") 1) (func (export "run") (param i32)))"#);
    assert!(matches!(
        check(&bad_run),
        Err(ValidationError::ExportType { name: "run", .. })
    ));
    // The stack meter's counter export is the VM's; a module may not bring its own.
    let squatter = wat(
        r#"(module (memory (export "memory") 1) (func (export "run"))
             (global (export "__joule_stack_units") i32 (i32.const 0)))"#,
    );
    assert_eq!(
        check(&squatter),
        Err(ValidationError::ReservedExport {
            name: "__joule_stack_units"
        })
    );
}

#[test]
fn caps_name_the_item() {
    let many: String = (0..20).map(|_| "(func)").collect();
    let wasm = wat(&format!(
        r#"(module (memory (export "memory") 1) (func (export "run")) {many})"#
    ));
    let rules = ValidationRules {
        max_functions: 10,
        ..ValidationRules::default()
    };
    assert_eq!(
        validate(&wasm, &rules),
        Err(ValidationError::TooMany {
            item: Item::Functions,
            count: 21,
            max: 10
        })
    );

    let data: String = (0..5)
        .map(|i| format!(r#"(data (i32.const {i}) "x")"#))
        .collect();
    let wasm = wat(&format!(
        r#"(module (memory (export "memory") 1) (func (export "run")) {data})"#
    ));
    let rules = ValidationRules {
        max_data_segments: 4,
        ..ValidationRules::default()
    };
    assert_eq!(
        validate(&wasm, &rules),
        Err(ValidationError::TooMany {
            item: Item::DataSegments,
            count: 5,
            max: 4
        })
    );

    let exports: String = (0..5)
        .map(|i| format!(r#"(export "e{i}" (func 0))"#))
        .collect();
    let wasm = wat(&format!(
        r#"(module (memory (export "memory") 1) (func (export "run")) {exports})"#
    ));
    let rules = ValidationRules {
        max_exports: 4,
        ..ValidationRules::default()
    };
    assert!(matches!(
        validate(&wasm, &rules),
        Err(ValidationError::TooMany {
            item: Item::Exports,
            count: 7,
            ..
        })
    ));
}

#[test]
fn big_initial_memory_and_table_are_refused() {
    let wasm = wat(r#"(module (memory (export "memory") 5000) (func (export "run")))"#);
    assert_eq!(
        check(&wasm),
        Err(ValidationError::MemoryTooLarge {
            pages: 5000,
            max: 4096
        })
    );
    let wasm = wat(
        r#"(module (memory (export "memory") 1) (table 100000 funcref) (func (export "run")))"#,
    );
    assert_eq!(
        check(&wasm),
        Err(ValidationError::TableTooLarge {
            index: 0,
            elements: 100_000,
            max: 65_536
        })
    );
}

#[test]
fn too_many_locals_names_the_function() {
    let wasm = wat(
        r#"(module (memory (export "memory") 1) (func (export "run")) (func (local i64 i64 i64 i64 i64)))"#,
    );
    let rules = ValidationRules {
        max_locals_per_function: 4,
        ..ValidationRules::default()
    };
    assert_eq!(
        validate(&wasm, &rules),
        Err(ValidationError::TooManyLocals {
            index: 1,
            count: 5,
            max: 4
        })
    );
}

#[test]
fn errors_say_which_rule_and_item() {
    let err = ValidationError::TooMany {
        item: Item::DataSegments,
        count: 5,
        max: 4,
    };
    assert_eq!(
        err.to_string(),
        "module has 5 data segments, more than the cap of 4"
    );
}
