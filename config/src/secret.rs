//! A member's TCP-MD5 password (RFC 2385): given inline as `password:` or read from
//! `password_file:` at load time. Never printed: `Debug` shows only its length.

use std::fmt;
use std::path::Path;

use crate::decode::{Ctx, Fields};
use crate::node::Node;

/// Longest TCP-MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_PASSWORD_LEN: usize = 80;

/// A TCP-MD5 key. Compared by value (a changed key restarts the session), never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks a key: 1 to [`MAX_PASSWORD_LEN`] bytes, printable ASCII (as routers accept).
    pub fn new(s: &str) -> Result<Password, String> {
        if s.is_empty() {
            return Err("is empty".to_owned());
        }
        if s.len() > MAX_PASSWORD_LEN {
            return Err(format!(
                "is {} bytes; TCP-MD5 keys are at most {MAX_PASSWORD_LEN}",
                s.len()
            ));
        }
        if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err("must be printable ASCII (no control characters or newlines)".to_owned());
        }
        Ok(Password(s.to_owned()))
    }

    /// The key bytes, for the socket option.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password(<{} bytes>)", self.0.len())
    }
}

/// `password:` or `password_file:` of a member: at most one of them. The file holds the
/// key on its first line (one trailing newline is dropped); on Unix it must not be
/// readable by group or others.
pub(crate) fn decode_password(
    cx: &mut Ctx,
    f: &Fields<'_>,
    owner: &str,
) -> Option<Option<Password>> {
    match (f.get("password"), f.get("password_file")) {
        (Some(_), Some(pf)) => {
            cx.err(
                pf.loc,
                format!("{owner}: give `password` or `password_file`, not both"),
            );
            None
        }
        (Some(n), None) => {
            let s = cx.string(n, "password")?;
            match Password::new(&s) {
                Ok(p) => Some(Some(p)),
                Err(e) => {
                    cx.err(n.loc, format!("`password` {e}"));
                    None
                }
            }
        }
        (None, Some(n)) => read_password_file(cx, n).map(Some),
        (None, None) => Some(None),
    }
}

fn read_password_file(cx: &mut Ctx, n: &Node) -> Option<Password> {
    let (path, key) = read_key_file(cx, n, "password_file")?;
    match Password::new(&key) {
        Ok(p) => Some(p),
        Err(e) => {
            cx.err(n.loc, format!("key in `password_file` `{path}` {e}"));
            None
        }
    }
}

/// The key in the file named by `n` (the value of `field`): a private regular file of at
/// most 4 KiB, UTF-8, one trailing newline dropped. Returns the path and the key.
pub(crate) fn read_key_file(cx: &mut Ctx, n: &Node, field: &str) -> Option<(String, String)> {
    let path = cx.string(n, field)?;
    let p = Path::new(&path);
    if let Err(e) = private_file(p) {
        cx.err(n.loc, format!("`{field}` `{path}`: {e}"));
        return None;
    }
    let text = match std::fs::read(p) {
        Ok(t) if t.len() <= 4096 => t,
        Ok(t) => {
            cx.err(
                n.loc,
                format!("`{field}` `{path}` is {} bytes: not a key file", t.len()),
            );
            return None;
        }
        Err(e) => {
            cx.err(n.loc, format!("`{field}` `{path}`: cannot read: {e}"));
            return None;
        }
    };
    let Ok(text) = String::from_utf8(text) else {
        cx.err(n.loc, format!("`{field}` `{path}` is not UTF-8 text"));
        return None;
    };
    let key = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text)
        .to_owned();
    Some((path, key))
}

#[cfg(unix)]
fn private_file(p: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(p).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {:o} lets group or others read the key; chmod 600 it",
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_file(_p: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn password_rules() {
        assert!(Password::new("s3cret key").is_ok());
        assert!(Password::new("").is_err());
        assert!(Password::new(&"x".repeat(81)).is_err());
        assert!(Password::new(&"x".repeat(80)).is_ok());
        assert!(Password::new("a\nb").is_err());
        let p = Password::new("hunter2").unwrap();
        assert_eq!(format!("{p:?}"), "Password(<7 bytes>)");
    }
}
