//! `cargo bench -p ringbook-avatar`: time `normalize` on a 4000×3000 photo-like JPEG.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use ringbook_avatar::{normalize, AvatarStandard};

/// Photo-like content: smooth gradients, a soft blob and mild sensor noise.
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

fn main() {
    let img = photo(4000, 3000);
    let mut input = Vec::new();
    JpegEncoder::new_with_quality(&mut input, 90)
        .encode_image(&img)
        .unwrap();
    drop(img);
    let std = AvatarStandard::default();

    // Warm-up (also shows the result).
    let avatar = normalize(&input, &std).unwrap();
    println!(
        "input: 4000x3000 JPEG, {} KB -> avatar {}x{} {} KB, thumbnail {}x{} {} KB",
        input.len() / 1024,
        avatar.width,
        avatar.height,
        avatar.jpeg.len() / 1024,
        avatar.thumb_width,
        avatar.thumb_height,
        avatar.thumbnail_jpeg.len() / 1024,
    );

    let iterations = 10;
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let avatar = normalize(&input, &std).unwrap();
        times.push(started.elapsed());
        std::hint::black_box(avatar);
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "normalize: {iterations} runs, mean {:.1} ms, median {:.1} ms, min {:.1} ms, max {:.1} ms per avatar",
        ms(total) / iterations as f64,
        ms(times[iterations / 2]),
        ms(times[0]),
        ms(times[iterations - 1]),
    );
}
