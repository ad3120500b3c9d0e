//! JUnit XML (quick-junit) for CI gates: one test suite per comparison kind, one test case per
//! feature x comparison; a failing comparison's violated gates are the failure message, an
//! inconclusive one is skipped; the metrics are properties.

use super::{ComparisonReport, Exporter, Report};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

pub struct Junit;

fn properties(c: &ComparisonReport) -> Vec<Property> {
    let mut p: Vec<(String, String)> = vec![
        ("rows.compared".into(), c.rows.compared.to_string()),
        ("rows.mismatched".into(), c.rows.mismatched.to_string()),
        (
            "rows.missing_online".into(),
            c.rows.missing_online.to_string(),
        ),
        (
            "rows.missing_offline".into(),
            c.rows.missing_offline.to_string(),
        ),
        (
            "rows.beyond_watermark".into(),
            c.rows.beyond_watermark.to_string(),
        ),
        (
            "rows.decode_errors".into(),
            c.rows.decode_errors.to_string(),
        ),
    ];
    if let Some(r) = c.rows.mismatch_rate {
        p.push(("mismatch_rate".into(), format!("{r:.6}")));
    }
    if let Some(d) = &c.dominant_cause {
        p.push((
            "dominant_cause".into(),
            format!("{} ({:.0}%)", d.cause, d.share * 100.0),
        ));
    }
    if let Some(d) = &c.distribution {
        p.push(("psi".into(), format!("{:.6}", d.psi)));
        p.push(("js_divergence".into(), format!("{:.6}", d.js_divergence)));
        if let Some(x) = d.ks_pvalue_adjusted {
            p.push(("ks_pvalue_adjusted".into(), format!("{x:.6e}")));
        }
    }
    p.into_iter().map(Property::from).collect()
}

impl Exporter for Junit {
    fn name(&self) -> &'static str {
        "junit"
    }
    fn file_name(&self) -> Option<&'static str> {
        Some("junit.xml")
    }
    fn render(&self, r: &Report) -> Result<String, String> {
        let mut report = quick_junit::Report::new(format!("skewaudit {}", r.run.project));
        for kind in ["online", "log"] {
            let mut suite = TestSuite::new(format!("skewaudit.{kind}"));
            for f in &r.features {
                let c = match kind {
                    "online" => f.comparisons.online.as_ref(),
                    _ => f.comparisons.log.as_ref(),
                };
                let Some(c) = c else { continue };
                let status = match c.verdict.as_str() {
                    "fail" => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        s.set_message(c.violations.join("; "));
                        s.set_type("skew");
                        s
                    }
                    "inconclusive" => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(format!("inconclusive: {} rows compared", c.rows.compared));
                        s
                    }
                    _ => TestCaseStatus::success(),
                };
                let mut case = TestCase::new(format!("{}.{kind}", f.name), status);
                case.set_classname(format!("skewaudit.{kind}"));
                case.add_properties(properties(c));
                suite.add_test_case(case);
            }
            if !suite.test_cases.is_empty() {
                report.add_test_suite(suite);
            }
        }
        report.to_string().map_err(|e| e.to_string())
    }
}
