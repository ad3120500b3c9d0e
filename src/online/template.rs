//! Key and field templates: `user:{user_id}`, `{feature}`, `_v:{feature}`.

/// Renders `template`, replacing `{name}` by the entity key value of that column and
/// `{feature}` by the feature's name. Unknown placeholders are rejected when the registry
/// loads, so here they are left as written.
pub fn render(template: &str, keys: &[(&str, &str)], feature: Option<&str>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = &after[..j];
        if name == "feature" {
            if let Some(f) = feature {
                out.push_str(f);
            } else {
                out.push_str("{feature}");
            }
        } else if let Some((_, v)) = keys.iter().find(|(k, _)| *k == name) {
            out.push_str(v);
        } else {
            out.push('{');
            out.push_str(name);
            out.push('}');
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_keys_and_feature() {
        let keys = [("user_id", "42"), ("item_id", "7")];
        assert_eq!(render("user:{user_id}:{item_id}", &keys, None), "user:42:7");
        assert_eq!(render("_v:{feature}", &keys, Some("spend")), "_v:spend");
        assert_eq!(render("{feature}", &keys, Some("a{b}")), "a{b}");
        assert_eq!(render("plain", &keys, None), "plain");
        assert_eq!(render("open{", &keys, None), "open{");
    }
}
