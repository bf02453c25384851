//! Human quantities in scenario files: byte sizes (`"8 MiB"`), percentages (`"10%"`) and
//! durations (`"90s"`), and their display.
//!
//! Pure parsing and formatting; knows nothing of TOML or scenarios.

/// Parses a byte size: an integer, or a number with a unit (`B`, `KiB`, `MiB`, `GiB`, `kB`,
/// `MB`, `GB`). Returns a message naming the accepted forms on failure.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.replace('_', "").parse().map_err(|_| {
        format!("`{text}` is not a byte size (hint: write e.g. 4096, \"512 KiB\" or \"2 MiB\")")
    })?;
    let mult: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => {
            return Err(format!(
            "unknown byte unit `{other}` in `{text}` (hint: one of B, KiB, MiB, GiB, kB, MB, GB)"
        ))
        }
    };
    let v = num * mult;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return Err(format!("`{text}` is out of range for a byte size"));
    }
    Ok(v.round() as u64)
}

/// Parses a percentage like `"10%"` into a fraction (0.10).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let Some(num) = t.strip_suffix('%') else {
        return Err(format!(
            "`{text}` is not a percentage (hint: write e.g. \"10%\")"
        ));
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage (hint: write e.g. \"10%\")"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{text}` must be a non-negative percentage"));
    }
    Ok(v / 100.0)
}

/// Parses a duration: `"90s"`, `"500ms"`, `"2m"`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (hint: write e.g. \"90s\" or \"2m\")"))?;
    let secs = match unit.trim() {
        "" | "s" => v,
        "ms" => v / 1e3,
        "m" | "min" => v * 60.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}` (hint: ms, s or m)"
            ))
        }
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("`{text}` must be a positive duration"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// Formats bytes with a binary unit and three significant figures: `1.50 MiB`, `812 B`.
pub fn fmt_bytes(b: f64) -> String {
    let a = b.abs();
    let (v, unit) = if a >= 1024.0 * 1024.0 * 1024.0 {
        (b / (1024.0 * 1024.0 * 1024.0), "GiB")
    } else if a >= 1024.0 * 1024.0 {
        (b / (1024.0 * 1024.0), "MiB")
    } else if a >= 1024.0 {
        (b / 1024.0, "KiB")
    } else {
        return format!("{} B", b.round() as i64);
    };
    if v.abs() >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// Formats an integer with thousands separators: `190,112`.
pub fn fmt_int(n: i128) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("2 MiB"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_bytes("1.5KiB"), Ok(1536));
        assert!(parse_bytes("2 parsecs").unwrap_err().contains("KiB"));
        assert_eq!(fmt_bytes(1536.0), "1.50 KiB");
        assert_eq!(fmt_bytes(812.0), "812 B");
    }

    #[test]
    fn percent_and_duration() {
        assert_eq!(parse_percent("10%"), Ok(0.10));
        assert!(parse_percent("10").is_err());
        assert_eq!(parse_duration("90s").map(|d| d.as_secs()), Ok(90));
        assert_eq!(parse_duration("2m").map(|d| d.as_secs()), Ok(120));
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn ints() {
        assert_eq!(fmt_int(190112), "190,112");
        assert_eq!(fmt_int(-1000), "-1,000");
        assert_eq!(fmt_int(12), "12");
    }
}
