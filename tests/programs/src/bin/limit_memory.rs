//! `limit_memory MIB`: allocate and touch MIB mebibytes; print
//! `ok allocated` if that worked.

fn main() {
    let mib: usize = wasock_guests::arg(1).parse().expect("MIB");
    let mut blocks = Vec::new();
    for i in 0..mib {
        let mut block = vec![0u8; 1 << 20];
        block[i % (1 << 20)] = 1;
        blocks.push(block);
    }
    println!("ok allocated {}", blocks.len());
}
