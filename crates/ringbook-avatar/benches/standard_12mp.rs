//! `cargo bench -p ringbook-avatar --bench standard_12mp`: time and peak memory to turn a
//! 12-megapixel (4000×3000) camera JPEG into the standard avatar (MM-5), with the server's
//! default [`AvatarStandard`].
//!
//! Peak memory is the process's high-water mark (`VmHWM` in `/proc/self/status`). To measure
//! `normalize` alone, the parent generates the photo and writes it to a file, then runs this
//! same binary as a child that only reads the file and normalises it: the child's VmHWM minus
//! its VmHWM before `normalize` is the cost of one conversion.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use ringbook_avatar::{normalize, AvatarStandard};

const CHILD_ENV: &str = "RINGBOOK_BENCH_12MP_INPUT";

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Photo-like content: gradients, a soft blob and sensor noise (compresses like a photo).
fn photo(w: u32, h: u32) -> RgbImage {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) % 21) as f32 - 10.0
    };
    RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let blob = (((fx - 0.5).powi(2) + (fy - 0.4).powi(2)) * 8.0).min(1.0);
        let c = |v: f32| v.clamp(0.0, 255.0) as u8;
        Rgb([
            c(210.0 * (1.0 - blob) + 40.0 * fx + noise()),
            c(110.0 + 90.0 * fy + noise()),
            c(80.0 + 130.0 * blob + noise()),
        ])
    })
}

fn child(path: &str) {
    let input = std::fs::read(path).unwrap();
    let std = AvatarStandard::default();
    let before = vm_hwm_kb();
    let started = Instant::now();
    let avatar = normalize(&input, &std).unwrap();
    let elapsed = started.elapsed();
    let after = vm_hwm_kb();
    println!(
        "{} {} {} {} {} {}",
        elapsed.as_micros(),
        before,
        after,
        avatar.jpeg.len(),
        avatar.width,
        avatar.thumbnail_jpeg.len()
    );
}

fn main() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        return child(&path);
    }
    let img = photo(4000, 3000);
    let mut input = Vec::new();
    JpegEncoder::new_with_quality(&mut input, 92)
        .encode_image(&img)
        .unwrap();
    drop(img);
    let dir = std::env::temp_dir().join(format!("ringbook-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("photo-12mp.jpg");
    std::fs::write(&path, &input).unwrap();

    let runs = 7;
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD_ENV, &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let v: Vec<u64> = line
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        times.push(Duration::from_micros(v[0]));
        peaks.push((v[1], v[2]));
        summary = format!(
            "avatar {}x{} {} KB, thumbnail {} KB",
            v[4],
            v[4],
            v[3] / 1024,
            v[5] / 1024
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (base, peak) = peaks.iter().copied().max_by_key(|p| p.1).unwrap();
    println!(
        "input: 4000x3000 (12 MP) JPEG q92, {} KB -> {summary}",
        input.len() / 1024
    );
    println!(
        "normalize time over {runs} fresh processes: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(times[0]),
        ms(times[runs / 2]),
        ms(times[runs - 1])
    );
    println!(
        "peak RSS (VmHWM): {:.1} MB for the process, {:.1} MB above the {:.1} MB before normalize",
        peak as f64 / 1024.0,
        (peak - base) as f64 / 1024.0,
        base as f64 / 1024.0
    );
}
