//! Reads a password from the first line of standard input and prints its argon2id PHC string
//! for a responder policy's `password_hash`:
//!
//! ```sh
//! printf '%s\n' 'demo-password' | cargo run -p guls-policy --example hash_password
//! ```

use std::io::BufRead;

use zeroize::Zeroizing;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err("empty password".into());
    }
    println!("{}", guls_policy::hash_password(password.as_bytes())?);
    Ok(())
}
