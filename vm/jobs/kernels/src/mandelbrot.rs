//! Mandelbrot set render (`f64` arithmetic) as a binary PGM image (`P5`) a person can view.
//!
//! Input: `width: u32 LE` (default 320), `height: u32 LE` (default 240), `max_iter: u32 LE`
//! (default 256). The view is `re ∈ [-2.2, 0.8]`, `im ∈ [-1.125, 1.125]`.
//! Images over 16 Mi pixels are refused (the job panics, so it ends "aborted").
//! Output: `P5\n{width} {height}\n255\n` followed by one grey byte per pixel, row by row.

use super::params::u32_at;
use alloc::vec::Vec;
use core::fmt::Write;

struct Header(Vec<u8>);

impl Write for Header {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Runs the job.
pub fn run(input: &[u8]) -> Vec<u8> {
    let width = u32_at(input, 0, 320).max(1);
    let height = u32_at(input, 1, 240).max(1);
    let max_iter = u32_at(input, 2, 256).max(1);
    let pixels = u64::from(width) * u64::from(height);
    assert!(
        pixels <= 1 << 24,
        "image of {width}x{height} pixels is larger than 16 Mi pixels"
    );
    let mut out = Header(Vec::with_capacity(width as usize * height as usize + 32));
    let _ = write!(out, "P5\n{width} {height}\n255\n");
    let mut out = out.0;
    let (re0, im0, span_re, span_im) = (-2.2f64, -1.125f64, 3.0f64, 2.25f64);
    for y in 0..height {
        let ci = im0 + span_im * (y as f64 + 0.5) / height as f64;
        for x in 0..width {
            let cr = re0 + span_re * (x as f64 + 0.5) / width as f64;
            let (mut zr, mut zi, mut i) = (0.0f64, 0.0f64, 0u32);
            while i < max_iter {
                let zr2 = zr * zr;
                let zi2 = zi * zi;
                if zr2 + zi2 > 4.0 {
                    break;
                }
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                i += 1;
            }
            // Inside the set is black; outside, brighter the longer it takes to escape (a cubic
            // ramp), so the boundary of the set glows.
            let shade = if i == max_iter {
                0
            } else {
                let t = 1.0 - i as f64 / max_iter as f64;
                (255.0 * (1.0 - t * t * t)) as u8
            };
            out.push(shade);
        }
    }
    out
}
