// Builds the few lines of C that give us initial-exec TLS (stable Rust cannot
// request that model, and glibc requires it of a malloc replacement), the
// C++ operators, and the old symbol versions of src/sys/symver.c.
fn main() {
    println!("cargo:rerun-if-changed=src/sys/tls.c");
    println!("cargo:rerun-if-changed=src/sys/symver.c");
    println!("cargo:rerun-if-changed=src/front/cxx.c");
    cc::Build::new()
        .file("src/sys/tls.c")
        .file("src/sys/symver.c")
        .file("src/front/cxx.c")
        .flag("-fexceptions")
        .flag("-fPIC")
        .flag("-ftls-model=initial-exec")
        .opt_level(2)
        .compile("pooldbg_tls");
    // The unwinder for stack capture: a link-time dependency, so it is loaded
    // with us and never dlopen'ed (which would allocate) on first use.
    println!("cargo:rustc-link-lib=dylib=gcc_s");
    // Before glibc 2.34, dladdr and dlsym live in libdl.so.2 and the pthread
    // key functions in libpthread.so.0 (symver.c binds their old versions):
    // both must be loaded with us. On 2.34+ they are empty stubs, so
    // --as-needed would drop them; the exact file names, because glibc
    // 2.34+ ships no libdl.so / libpthread.so link to find with -ldl.
    for arg in ["-Wl,--no-as-needed", "-l:libdl.so.2", "-l:libpthread.so.0", "-Wl,--as-needed"] {
        println!("cargo:rustc-cdylib-link-arg={arg}");
    }
    // A SONAME, so that packagers and `ldd` see a versioned library; the
    // program never links it (LD_PRELOAD, or the weak declarations of
    // include/pooldbg.h).
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpooldbg.so.0");
    commit();
}

/// The git commit the library is built from (with "-dirty" when the tree
/// has changes), for `pooldbg --version` and `help=1`; "unknown" outside a
/// git checkout (a source tarball).
fn commit() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let mut commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) {
        commit.push_str("-dirty");
    }
    println!("cargo:rustc-env=POOLDBG_COMMIT={commit}");
    // Again when HEAD moves (a commit, a checkout) or the index changes
    // ("-dirty" is as of then: edits alone do not run this script again).
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for f in ["HEAD", "logs/HEAD", "index"] {
            println!("cargo:rerun-if-changed={dir}/{f}");
        }
    }
}
