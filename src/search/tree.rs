//! The search tree of one sample: every item list a search produced, with the feedback that
//! produced it, its scores and whether the beam kept it.
//!
//! The tree is the record of a search, stored per sample: every output strategy
//! ([`super::ranking`]) and every depth of the depth curve is computed from it afterwards, without
//! calling a model again. So it holds what those computations need and nothing of the executor.
//!
//! Nodes are appended depth by depth (a node is never added at a depth lower than the last node's),
//! so the nodes of depth ≤ d are a prefix of the node list and [`SearchTree::truncated`] keeps their
//! ids. The root (the conversation alone) is not a node: depth-1 nodes have no parent.

use serde::{Deserialize, Serialize};

/// Index of a node in its tree, in order of creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub usize);

/// One item list of the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: NodeId,
    /// The node this list revises; `None` for lists sampled from the conversation alone.
    pub parent: Option<NodeId>,
    /// 1-based: depth-1 nodes are sampled from the root.
    pub depth: u32,
    /// Stable name of the node, `d{depth}.{i1}.{i2}…` where `i1` is its ancestor's index among the
    /// root's lists and each further index the child index below the previous one: `d1.3`,
    /// `d2.3.0`. Unlike the id, it does not depend on how many siblings failed, so executors derive
    /// per-request seeds from it.
    pub path: String,
    /// Catalog titles, in list order.
    pub items: Vec<String>,
    /// The feedback that produced this list; `None` at depth 1 and without critiquing.
    pub critique: Option<String>,
    /// One score per item, once scored.
    pub scores: Option<Vec<f64>>,
    /// The mean of `scores`.
    pub reward: Option<f64>,
    /// Whether the beam selected this node (to expand it, or as a final beam member at depth D).
    pub kept: bool,
}

/// The nodes of one search, in creation order ([`NodeId`] is the index). A tree read back from a
/// store is checked to be one [`SearchTree::add_node`] could have built (ids are indices, a parent
/// comes before its children one depth up, depths never decrease), so that a damaged record is a
/// decoding error rather than an out-of-bounds index or a cycle in whatever walks the tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredTree")]
pub struct SearchTree {
    nodes: Vec<Node>,
}

/// [`SearchTree`] as stored, before it is checked.
#[derive(Deserialize)]
struct StoredTree {
    nodes: Vec<Node>,
}

impl TryFrom<StoredTree> for SearchTree {
    type Error = String;

    fn try_from(stored: StoredTree) -> Result<Self, Self::Error> {
        // Decoding grows each list by doubling (10 items take room for 16, 80 nodes for 128),
        // and shrinking in place leaves the room allocated: exact copies, since a report holds
        // thousands of decoded trees.
        let nodes: Vec<Node> = exact(stored.nodes)
            .into_iter()
            .map(|mut node| {
                node.items = exact(node.items);
                node.scores = node.scores.map(exact);
                node
            })
            .collect();
        for (index, node) in nodes.iter().enumerate() {
            if node.id.0 != index {
                return Err(format!("search tree node {index} has id {}", node.id.0));
            }
            let depth = match node.parent {
                None => 1,
                Some(parent) if parent.0 < index => nodes[parent.0].depth.saturating_add(1),
                Some(parent) => {
                    return Err(format!(
                        "search tree node {index} has parent {}, not an earlier node",
                        parent.0
                    ))
                }
            };
            if node.depth != depth {
                return Err(format!(
                    "search tree node {index} has depth {}, its parent's depth + 1 is {depth}",
                    node.depth
                ));
            }
            if index > 0 && node.depth < nodes[index - 1].depth {
                return Err(format!(
                    "search tree node {index} (depth {}) follows a deeper node",
                    node.depth
                ));
            }
        }
        Ok(SearchTree { nodes })
    }
}

/// `items` in a new allocation of exactly their length.
fn exact<T>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    out.extend(items);
    out
}

impl SearchTree {
    pub fn new() -> Self {
        SearchTree::default()
    }

    /// Appends a list below `parent` (or the root) as child number `child_index` of it, and returns
    /// its id. The path is built from the parent's path and `child_index`.
    ///
    /// # Panics
    /// If `parent` is not in the tree, or the new node would be shallower than the last node
    /// (the depth-by-depth order that truncation relies on).
    pub fn add_node(
        &mut self,
        parent: Option<NodeId>,
        child_index: usize,
        items: Vec<String>,
        critique: Option<String>,
    ) -> NodeId {
        let (depth, path) = match parent {
            None => (1, format!("d1.{child_index}")),
            Some(parent) => {
                let parent = self.node(parent);
                let ancestry = parent.path.split_once('.').map_or("", |(_, rest)| rest);
                (
                    parent.depth + 1,
                    format!("d{}.{ancestry}.{child_index}", parent.depth + 1),
                )
            }
        };
        let last_depth = self.nodes.last().map_or(1, |node| node.depth);
        assert!(
            depth >= last_depth,
            "search tree nodes must be added depth by depth: depth {depth} after depth {last_depth}"
        );
        let id = NodeId(self.nodes.len());
        self.nodes.push(Node {
            id,
            parent,
            depth,
            path,
            items,
            critique,
            scores: None,
            reward: None,
            kept: false,
        });
        id
    }

    /// Records a node's item scores and sets its reward to their mean (`None` for an empty list).
    pub fn set_scores(&mut self, id: NodeId, scores: Vec<f64>) {
        let node = &mut self.nodes[id.0];
        node.reward =
            (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        node.scores = Some(scores);
    }

    pub fn set_kept(&mut self, id: NodeId, kept: bool) {
        self.nodes[id.0].kept = kept;
    }

    /// # Panics
    /// If `id` is not a node of this tree.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// All nodes in id order, which is depth order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The nodes of one depth, in id order.
    pub fn nodes_at_depth(&self, depth: u32) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(move |node| node.depth == depth)
    }

    /// The children of a node, in id order.
    pub fn children(&self, id: NodeId) -> impl Iterator<Item = &Node> {
        self.nodes
            .iter()
            .filter(move |node| node.parent == Some(id))
    }

    /// The depth of the deepest node (0 for an empty tree).
    pub fn max_depth(&self) -> u32 {
        self.nodes.last().map_or(0, |node| node.depth)
    }

    /// The tree restricted to nodes of depth ≤ `max_depth`. Because nodes are added depth by depth
    /// this is a prefix, so ids, paths and parents are unchanged.
    pub fn truncated(&self, max_depth: u32) -> SearchTree {
        SearchTree {
            nodes: self
                .nodes
                .iter()
                .take_while(|node| node.depth <= max_depth)
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn paths_name_the_ancestry_and_survive_serialization() {
        let mut tree = SearchTree::new();
        let first = tree.add_node(None, 0, titles(&["A"]), None);
        let fourth = tree.add_node(None, 3, titles(&["B"]), None);
        let child = tree.add_node(Some(fourth), 0, titles(&["C"]), Some("too old".into()));
        let grandchild = tree.add_node(Some(child), 2, titles(&["D"]), None);
        assert_eq!(tree.node(first).path, "d1.0");
        assert_eq!(tree.node(fourth).path, "d1.3");
        assert_eq!(tree.node(child).path, "d2.3.0");
        assert_eq!(tree.node(grandchild).path, "d3.3.0.2");
        assert_eq!(tree.node(grandchild).depth, 3);

        tree.set_scores(child, vec![0.5, 1.0]);
        assert_eq!(tree.node(child).reward, Some(0.75));
        let json = serde_json::to_string(&tree).unwrap();
        assert_eq!(serde_json::from_str::<SearchTree>(&json).unwrap(), tree);
    }

    #[test]
    fn stored_trees_are_checked_like_built_ones() {
        let mut tree = SearchTree::new();
        let first = tree.add_node(None, 0, titles(&["A"]), None);
        tree.add_node(None, 1, titles(&["B"]), None);
        tree.add_node(Some(first), 0, titles(&["C"]), None);
        let json = serde_json::to_value(&tree).unwrap();
        assert_eq!(
            serde_json::from_value::<SearchTree>(json.clone()).unwrap(),
            tree
        );
        let damaged = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut json = json.clone();
            edit(&mut json);
            serde_json::from_value::<SearchTree>(json)
                .unwrap_err()
                .to_string()
        };
        // A node that is its own parent (a cycle for anything walking the tree).
        let cycle = damaged(&|json| {
            json["nodes"][2]["id"] = 0.into();
            json["nodes"][2]["parent"] = 0.into();
        });
        assert!(cycle.contains("node 2 has id 0"), "{cycle}");
        let later_parent = damaged(&|json| json["nodes"][0]["parent"] = 2.into());
        assert!(
            later_parent.contains("not an earlier node"),
            "{later_parent}"
        );
        let depth = damaged(&|json| json["nodes"][2]["depth"] = 7.into());
        assert!(depth.contains("depth 7"), "{depth}");
    }

    #[test]
    fn truncation_is_a_prefix_that_keeps_ids() {
        let mut tree = SearchTree::new();
        let root_child = tree.add_node(None, 0, titles(&["A"]), None);
        tree.add_node(None, 1, titles(&["B"]), None);
        let deep = tree.add_node(Some(root_child), 0, titles(&["C"]), None);
        tree.add_node(Some(deep), 0, titles(&["D"]), None);
        let truncated = tree.truncated(2);
        assert_eq!(truncated.len(), 3);
        assert_eq!(truncated.nodes(), &tree.nodes()[..3]);
        assert_eq!(truncated.max_depth(), 2);
        assert_eq!(tree.truncated(0).len(), 0);
    }

    #[test]
    #[should_panic(expected = "depth by depth")]
    fn adding_a_shallower_node_after_a_deeper_one_panics() {
        let mut tree = SearchTree::new();
        let parent = tree.add_node(None, 0, titles(&["A"]), None);
        tree.add_node(Some(parent), 0, titles(&["B"]), None);
        tree.add_node(None, 1, titles(&["C"]), None);
    }
}
