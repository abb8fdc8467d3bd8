// Builds the few lines of C that give us initial-exec TLS (stable Rust cannot
// request that model, and glibc requires it of a malloc replacement).
fn main() {
    println!("cargo:rerun-if-changed=src/sys/tls.c");
    println!("cargo:rerun-if-changed=src/front/cxx.c");
    cc::Build::new()
        .file("src/sys/tls.c")
        .file("src/front/cxx.c")
        .flag("-fexceptions")
        .flag("-fPIC")
        .flag("-ftls-model=initial-exec")
        .opt_level(2)
        .compile("pooldbg_tls");
    // The unwinder for stack capture: a link-time dependency, so it is loaded
    // with us and never dlopen'ed (which would allocate) on first use.
    println!("cargo:rustc-link-lib=dylib=gcc_s");
}
