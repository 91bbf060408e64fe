//! The graph's view arithmetic: a zoom and a pan, and what a fit, a centring, a wheel zoom
//! and a glide towards a target do to them. Pure, unit-tested without a window.

use egui::{Pos2, Rect, Vec2};

/// The smallest and largest zoom a fit chooses.
const FIT_ZOOM: (f32, f32) = (0.04, 1.25);

/// A zoom and a pan (canvas point `p` shows at `p * zoom + pan`, relative to the view).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewTransform {
    /// Screen pixels per canvas unit.
    pub zoom: f32,
    /// Where the canvas origin shows.
    pub pan: Vec2,
}

impl ViewTransform {
    /// Fits `bounds` into a view of `size`, centred, with a margin.
    pub fn fit(bounds: Rect, size: Vec2) -> Self {
        Self::fit_in(bounds, Rect::from_min_size(Pos2::ZERO, size))
    }

    /// Fits `bounds` into `area` of the view (view coordinates: leave room for overlays),
    /// centred, with a margin.
    pub fn fit_in(bounds: Rect, area: Rect) -> Self {
        let size = area.size();
        if !bounds.is_positive() || size.x <= 1.0 || size.y <= 1.0 {
            return Self {
                zoom: 1.0,
                pan: area.center().to_vec2(),
            };
        }
        let margin = 16.0;
        let zoom = ((size.x - 2.0 * margin) / bounds.width())
            .min((size.y - 2.0 * margin) / bounds.height())
            .clamp(FIT_ZOOM.0, FIT_ZOOM.1);
        Self {
            zoom,
            pan: area.center().to_vec2() - bounds.center().to_vec2() * zoom,
        }
    }

    /// Shows canvas point `point` in the middle of a view of `size`, zooming in to at least
    /// `min_zoom`.
    pub fn centered_on(self, point: Pos2, size: Vec2, min_zoom: f32) -> Self {
        let zoom = self.zoom.max(min_zoom);
        Self {
            zoom,
            pan: size / 2.0 - point.to_vec2() * zoom,
        }
    }

    /// Zooms by `factor` keeping view point `anchor` still.
    pub fn zoomed(self, factor: f32, anchor: Pos2) -> Self {
        let zoom = (self.zoom * factor).clamp(0.02, 4.0);
        let canvas = (anchor.to_vec2() - self.pan) / self.zoom;
        Self {
            zoom,
            pan: anchor.to_vec2() - canvas * zoom,
        }
    }

    /// A step of `fraction` (0 to 1) from this view towards `target` in a view of `size`:
    /// the zoom moves geometrically and the point in the middle of the view linearly, so
    /// a fit glides instead of jumping.
    pub fn towards(self, target: Self, fraction: f32, size: Vec2) -> Self {
        let fraction = fraction.clamp(0.0, 1.0);
        let middle = |view: Self| (size / 2.0 - view.pan) / view.zoom;
        let zoom = self.zoom * (target.zoom / self.zoom).powf(fraction);
        let from = middle(self);
        let center = from + (middle(target) - from) * fraction;
        Self {
            zoom,
            pan: size / 2.0 - center * zoom,
        }
    }

    /// Whether two views look the same (within half a pixel).
    pub fn is_close_to(self, other: Self, size: Vec2) -> bool {
        let corner = |view: Self, p: Vec2| p * view.zoom + view.pan;
        (corner(self, Vec2::ZERO) - corner(other, Vec2::ZERO)).length() < 0.5
            && (corner(self, size / self.zoom) - corner(other, size / self.zoom)).length() < 0.5
            && (self.zoom / other.zoom - 1.0).abs() < 1e-3
    }

    /// The canvas point under view point `pos`.
    pub fn to_canvas(self, pos: Pos2) -> Pos2 {
        ((pos.to_vec2() - self.pan) / self.zoom).to_pos2()
    }

    /// Whether canvas rect `rect` is entirely in a view of `size`.
    pub fn shows(self, rect: Rect, size: Vec2) -> bool {
        let min = rect.min.to_vec2() * self.zoom + self.pan;
        let max = rect.max.to_vec2() * self.zoom + self.pan;
        min.x >= 0.0 && min.y >= 0.0 && max.x <= size.x && max.y <= size.y
    }
}

#[cfg(test)]
mod tests {
    use egui::{pos2, vec2};

    use super::*;

    #[test]
    fn fit_centres_the_bounds_and_zoom_keeps_the_anchor_still() {
        let bounds = Rect::from_min_max(pos2(0.0, 0.0), pos2(1000.0, 200.0));
        let view = ViewTransform::fit(bounds, vec2(532.0, 400.0));
        assert!((view.zoom - 0.5).abs() < 1e-3);
        let center = bounds.center().to_vec2() * view.zoom + view.pan;
        assert!((center - vec2(266.0, 200.0)).length() < 1e-3);
        assert!(view.shows(bounds, vec2(548.0, 400.0)));
        // Room left for overlays: the fit stays inside the area.
        let area = Rect::from_min_max(pos2(0.0, 20.0), pos2(548.0, 340.0));
        let inset = ViewTransform::fit_in(bounds, area);
        let top = bounds.min.y * inset.zoom + inset.pan.y;
        let bottom = bounds.max.y * inset.zoom + inset.pan.y;
        assert!(top >= 20.0 && bottom <= 340.0, "{top}..{bottom}");

        let anchor = pos2(100.0, 50.0);
        let before = view.to_canvas(anchor);
        let zoomed = view.zoomed(1.7, anchor);
        assert!((zoomed.to_canvas(anchor) - before).length() < 1e-3);

        let centred = view.centered_on(pos2(900.0, 100.0), vec2(548.0, 400.0), 0.8);
        assert_eq!(centred.zoom, 0.8);
        assert!((centred.to_canvas(pos2(274.0, 200.0)) - pos2(900.0, 100.0)).length() < 1e-3);
        let small = Rect::from_min_max(pos2(0.0, 0.0), pos2(10.0, 10.0));
        // Gliding ends where it aims.
        let mut glide = view;
        let target = ViewTransform::fit(small, vec2(548.0, 400.0));
        for _ in 0..200 {
            glide = glide.towards(target, 0.2, vec2(548.0, 400.0));
        }
        assert!(glide.is_close_to(target, vec2(548.0, 400.0)));
        assert_eq!(
            view.towards(target, 1.0, vec2(548.0, 400.0)).zoom,
            target.zoom
        );
        // A tiny tree is not blown up.
        assert_eq!(
            ViewTransform::fit(small, vec2(800.0, 600.0)).zoom,
            FIT_ZOOM.1
        );
    }
}
