//! The registry: the component types a plan can use (the built-ins, then Rhai plugins found
//! next to and above the plan) and the compiler that turns a
//! [`PlanSource`](crate::plan::PlanSource) into a [`Plan`] with each role's components.
//!
//! ripgrep's `grep-matcher` is the model: the evaluator depends on the `Component` trait
//! only; adding a type means registering a factory here.

mod compile;
mod lint;
mod plugins;
mod schema;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::component::{ComponentType, PluginType, TypeInfo, builtin_types};
use crate::diagnostic::Diagnostic;
use crate::error::Code;
use crate::script::{ScriptHost, ScriptLimits};
use crate::source::{FileSystem, Sources};

pub use compile::{Plan, Role};
pub use lint::ENGINE_COMPANY_READS;
pub use plugins::{plugin_dirs, plugin_files};
pub use schema::plan_schema;

/// The component types a plan can use: the built-ins, then plugins.
#[derive(Clone)]
pub struct Registry {
    types: IndexMap<String, Arc<dyn ComponentType>>,
    /// Plugins that could not be registered (one named like a built-in): errors of every
    /// plan compiled with this registry.
    problems: Vec<Diagnostic>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.types.keys()).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    /// The built-in types of SPEC §4, with scripts run by a default sandbox.
    pub fn builtin() -> Registry {
        Registry::with_host(Arc::new(ScriptHost::default()))
    }

    /// The built-in types, with `type: script` run by `host`.
    pub fn with_host(host: Arc<ScriptHost>) -> Registry {
        let mut registry = Registry { types: IndexMap::new(), problems: Vec::new() };
        for component_type in builtin_types(host) {
            registry.register(component_type);
        }
        registry
    }

    /// The built-ins plus the plugin types found for a plan: `scripts/components/*.rhai` in
    /// the plan's folder and the folders above it.
    pub fn for_plan(plan_path: &Path, limits: ScriptLimits) -> Registry {
        Registry::for_plan_in(&FileSystem, plan_path, limits)
    }

    /// [`Registry::for_plan`] for a plan in `sources` (in memory: the plugin folders above
    /// the plan's path in the same sources).
    pub fn for_plan_in(sources: &dyn Sources, plan_path: &Path, limits: ScriptLimits) -> Registry {
        let host = Arc::new(ScriptHost::new(limits));
        let mut registry = Registry::with_host(host.clone());
        for (dir, shown) in plugin_dirs(sources, plan_path) {
            registry.add_plugins(sources, &host, &dir, &shown);
        }
        registry
    }

    /// Registers every `*.rhai` in `dir` as a plugin component type; `shown` is how messages
    /// name the folder.
    pub fn add_plugins(&mut self, sources: &dyn Sources, host: &Arc<ScriptHost>, dir: &Path, shown: &str) {
        for file in plugin_files(sources, dir) {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let path = format!("{shown}/{name}");
            if let Some(plugin) = PluginType::load(sources, host, &file, &path) {
                if self.types.get(plugin.name()).is_some_and(|t| !t.is_plugin()) {
                    // A plugin never replaces a built-in; ignoring it would run the built-in
                    // where its author expects the script.
                    let message = format!(
                        "plugin {path} is named like the built-in component type `{}`: a plugin cannot replace \
                         a built-in; rename the file",
                        plugin.name()
                    );
                    self.problems.push(Diagnostic::error(message).with_code(Code::PlanBadId));
                    continue;
                }
                self.register(Arc::new(plugin));
            }
        }
    }

    /// Adds a type; a later registration with the same name replaces the earlier one.
    pub fn register(&mut self, component_type: Arc<dyn ComponentType>) {
        self.types.insert(component_type.name().to_string(), component_type);
    }

    /// Plugins that could not be registered, as errors.
    pub fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn ComponentType>> {
        self.types.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }

    pub fn types(&self) -> impl Iterator<Item = &Arc<dyn ComponentType>> {
        self.types.values()
    }

    /// The catalogue: each type's summary and its keys, read from its schema.
    pub fn infos(&self) -> Vec<TypeInfo> {
        let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        let variants: Vec<serde_json::Value> = self.types.values().map(|t| t.schema(&mut generator)).collect();
        let defs = generator.take_definitions(false);
        self.types
            .values()
            .zip(variants)
            .map(|(t, variant)| {
                let mut info = t.info();
                info.keys = schema::catalogue_keys(&variant, &defs);
                info
            })
            .collect()
    }
}
